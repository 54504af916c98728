package configs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestExample_LoadsAndStatesTheDefaults(t *testing.T) {
	t.Parallel()
	onDisk, err := os.ReadFile(ExampleFileName)
	if err != nil {
		t.Fatal(err)
	}
	if Example() != string(onDisk) {
		t.Fatal("Example() differs from broker.example.yaml")
	}
	got, err := Load(ExampleFileName, nil)
	if err != nil {
		t.Fatalf("the example does not load:\n%v", err)
	}
	want, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	got.origin, want.origin = origin{}, origin{}
	if len(got.Domains) == 0 && len(want.Domains) == 0 {
		got.Domains, want.Domains = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the example's values differ from the defaults:\n got %+v\nwant %+v", got, want)
	}
}

// uncommentDomains turns the example's commented `# domains:` block into
// YAML, replacing the live `domains: []`.
func uncommentDomains(t *testing.T, example string) string {
	t.Helper()
	var out []string
	in := false
	for _, line := range strings.Split(example, "\n") {
		switch {
		case line == "domains: []":
			continue
		case line == "# domains:":
			in = true
		case in && !strings.HasPrefix(line, "#"):
			in = false
		}
		if in {
			line = strings.TrimPrefix(strings.TrimPrefix(line, "#"), " ")
		}
		out = append(out, line)
	}
	if !strings.Contains(strings.Join(out, "\n"), "\ndomains:\n  # A static") {
		t.Fatal("the example has no commented `# domains:` block to test")
	}
	return strings.Join(out, "\n")
}

func TestExample_CommentedDomains_LoadWhenTheirFilesExist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "example.com.yaml", "domain: example.com\n")
	writeFile(t, dir, "acme-service-account.json", "{}\n")
	path := writeFile(t, dir, "broker.yaml", uncommentDomains(t, Example()))
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatalf("the example's domains do not load:\n%v", err)
	}
	if len(cfg.Domains) != 2 || cfg.Domains[0].Provider != ProviderStatic || cfg.Domains[1].Provider != ProviderGoogle {
		t.Fatalf("domains = %+v, want one static and one google", cfg.Domains)
	}
	g := cfg.Domains[1].Google
	if g.CredentialsFile != filepath.Join(dir, "acme-service-account.json") || g.Endpoints.Token != GoogleTokenURL {
		t.Errorf("google = %+v", g)
	}
}
