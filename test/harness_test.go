package test

import (
	"bytes"
	"context"
	"errors"
	"html"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The broker binary is built once per `go test` run, into binDir, removed by TestMain.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// moduleRoot is the directory of go.mod, found with `go env GOMOD`.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("go env GOMOD: not inside the module")
	}
	return filepath.Dir(gomod)
}

// brokerBinary builds ./cmd/broker once and returns the binary's path.
func brokerBinary(t *testing.T) string {
	t.Helper()
	root := moduleRoot(t)
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "broker-e2e-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "broker")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/broker")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New("go build ./cmd/broker: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// brokerEnv is the test process's environment without REDIS_URL and BROKER_* (so the
// developer's settings never leak into a test), plus extra.
func brokerEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "REDIS_URL=") || strings.HasPrefix(kv, "BROKER_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// lockedBuffer is a bytes.Buffer safe for the process's writer and the test's readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// brokerProc is one running `broker serve`; it is killed at the end of the test at the
// latest.
type brokerProc struct {
	cmd            *exec.Cmd
	base           string // http://127.0.0.1:PORT
	stdout, stderr *lockedBuffer
	exited         chan struct{}
}

// startBroker runs the broker binary in dir with env and args, listening on
// 127.0.0.1:port (the caller puts that into env or the config).
func startBroker(t *testing.T, dir, port string, env []string, args ...string) *brokerProc {
	t.Helper()
	p := &brokerProc{
		cmd:    exec.Command(brokerBinary(t), args...),
		base:   "http://127.0.0.1:" + port,
		stdout: &lockedBuffer{}, stderr: &lockedBuffer{},
		exited: make(chan struct{}),
	}
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting the broker: %v", err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitStatus polls GET base+path until it answers want, failing when the process exits
// or 30 s pass.
func (p *brokerProc) waitStatus(t *testing.T, path string, want int) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	last := "no answer"
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			t.Fatalf("the broker exited (status %d) before GET %s answered %d\nstdout:\n%s\nstderr:\n%s",
				p.cmd.ProcessState.ExitCode(), path, want, p.stdout, p.stderr)
		default:
		}
		resp, err := client.Get(p.base + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond) // polling readiness, not waiting for an expiry
	}
	t.Fatalf("GET %s did not answer %d within 30 s (last: %s)\nstderr:\n%s", path, want, last, p.stderr)
}

// stop sends SIGTERM and returns the exit status; the broker must be gone within 10 s
// (SPEC §10: graceful shutdown, exit 0).
func (p *brokerProc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		t.Fatalf("the broker did not exit within 10 s of SIGTERM\nstderr:\n%s", p.stderr)
		return -1
	}
}

// waitOutput polls the process's stdout until re matches, for at most 10 s, and returns
// the submatches.
func (p *brokerProc) waitOutput(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.stdout.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("stdout never matched %s\nstdout:\n%s", re, p.stdout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runBroker runs a one-shot subcommand (clients list, …) and returns its exit status and
// output; it is killed after 30 s. It also works in t.Cleanup, after t.Context is done.
func runBroker(t *testing.T, dir string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, brokerBinary(t), args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("broker %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errOut.String()
}

// htmlForm is one <form> of a page: where it posts, its hidden inputs, the names of all its
// inputs, and its submit buttons.
type htmlForm struct {
	action, method string
	hidden         map[string]string
	inputs         map[string]bool
	buttons        map[string][]string // name → values
}

var (
	formRe    = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	controlRe = regexp.MustCompile(`(?is)<(input|button)\b([^>]*)>`)
	attrRe    = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

// attrs parses the attributes of a start tag; values are HTML-unescaped.
func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2] + a[3] + a[4])
	}
	return m
}

// parseForms finds every form of an HTML page.
func parseForms(page string) []htmlForm {
	var forms []htmlForm
	for _, fm := range formRe.FindAllStringSubmatch(page, -1) {
		fa := attrs(fm[1])
		f := htmlForm{action: fa["action"], method: strings.ToLower(fa["method"]),
			hidden: map[string]string{}, inputs: map[string]bool{}, buttons: map[string][]string{}}
		for _, c := range controlRe.FindAllStringSubmatch(fm[2], -1) {
			ca := attrs(c[2])
			name := ca["name"]
			if name == "" {
				continue
			}
			typ := strings.ToLower(ca["type"])
			switch {
			case strings.EqualFold(c[1], "button") || typ == "submit":
				f.buttons[name] = append(f.buttons[name], ca["value"])
			case typ == "hidden":
				f.hidden[name] = ca["value"]
				f.inputs[name] = true
			default:
				f.inputs[name] = true
			}
		}
		forms = append(forms, f)
	}
	return forms
}

// TestParseForms checks the tests' own form reader on the shapes SPEC §2 promises.
func TestParseForms(t *testing.T) {
	t.Parallel()
	page := `<form method="post" action="/a?x=1&amp;y=2"><input type="hidden" name="csrf" value="t&lt;1&gt;">
<input type=text name='policy_groups'><button type="submit" name="decision" value="deny">Deny</button>
<button name="decision" value="approve">Approve</button></form><FORM METHOD=POST action=/b><input name=email></FORM>`
	forms := parseForms(page)
	if len(forms) != 2 {
		t.Fatalf("%d forms, want 2", len(forms))
	}
	f := forms[0]
	if f.action != "/a?x=1&y=2" || f.method != "post" || f.hidden["csrf"] != "t<1>" || !f.inputs["policy_groups"] ||
		strings.Join(f.buttons["decision"], ",") != "deny,approve" {
		t.Errorf("first form parsed as %+v", f)
	}
	if g := forms[1]; g.action != "/b" || g.method != "post" || !g.inputs["email"] {
		t.Errorf("second form parsed as %+v", g)
	}
}
