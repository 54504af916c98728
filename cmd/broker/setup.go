package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/broker/provider/static"
	"github.com/enterprise-connect/broker/configs"
	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
	redisstore "github.com/enterprise-connect/broker/store/redis"
)

// configError is an invalid configuration: exit status 2 (SPEC §10).
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }

// env is what a subcommand works with: the configuration, the store, the sealer, the
// domains' providers. Close releases the store.
type env struct {
	cfg       *configs.Config
	store     store.Store
	sealer    *broker.Sealer
	providers []provider.Provider
	demo      *demoState // nil unless the broker runs on the embedded demo defaults
}

func (e *env) Close() {
	if e.store != nil {
		e.store.Close()
	}
}

func (e *env) knownDomain(d string) bool {
	for _, p := range e.providers {
		if p.Domain() == d {
			return true
		}
	}
	return false
}

// demoDirFile is where the demo directory lives under data_dir.
const demoDirFile = "demo/example.com.yaml"

// open loads the configuration, opens the store and the providers. forServe creates the
// demo directory on a first start without a config.
func (c *cli) open(ctx context.Context, configPath string) (*env, error) {
	cfg, err := configs.Load(configPath, c.getenv)
	if err != nil {
		return nil, &configError{err}
	}
	e := &env{cfg: cfg}
	redisURL := cfg.RedisURL.Reveal()
	key, err := broker.LoadKEK(cfg.KeyEncryptionKeyFile, redisURL == "")
	if err != nil {
		return nil, &configError{fmt.Errorf("%s: key_encryption_key_file: %v", sourceName(configPath), err)}
	}
	if e.sealer, err = broker.NewSealer(key); err != nil {
		return nil, &configError{fmt.Errorf("%s: key_encryption_key_file: %v", sourceName(configPath), err)}
	}
	for i, d := range cfg.Domains {
		switch d.Provider {
		case configs.ProviderStatic:
			dir, err := static.Load(d.DirectoryFile)
			if err != nil {
				return nil, &configError{fmt.Errorf("%s: domains[%d].directory_file: %v", sourceName(configPath), i, err)}
			}
			if dir.Domain() != strings.ToLower(d.Domain) {
				return nil, &configError{fmt.Errorf("%s: domains[%d].directory_file: the file is for domain %q, not %q", sourceName(configPath), i, dir.Domain(), d.Domain)}
			}
			e.providers = append(e.providers, dir)
		default:
			return nil, &configError{fmt.Errorf("%s: domains[%d].provider: provider %q is not available in this version of the broker (use static)", sourceName(configPath), i, d.Provider)}
		}
	}
	if len(cfg.Domains) == 0 {
		// The embedded demo defaults (SPEC §10): the static demo directory under data_dir.
		path := filepath.Join(cfg.DataDir, demoDirFile)
		if dir, err := static.Load(path); err == nil {
			e.providers = append(e.providers, dir)
			e.demo = &demoState{dirFile: path}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("demo directory %s: %w", path, err)
		}
	}
	if redisURL != "" {
		e.store, err = redisstore.Open(ctx, redisURL, redisstore.Options{})
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data_dir: %w", err)
		}
		db := filepath.Join(cfg.DataDir, "broker.db")
		if e.store, err = embedded.Open(ctx, db); err == nil {
			// The store holds hashes and sealed keys only, but still: owner-only.
			for _, f := range []string{db, db + "-wal", db + "-shm"} {
				_ = os.Chmod(f, 0o600)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	return e, nil
}

func sourceName(configPath string) string {
	if configPath == "" {
		return "defaults"
	}
	return configPath
}

// withEnv opens the store named by f's --config, runs fn with it and closes it: the frame
// of every subcommand that works on the store.
func (c *cli) withEnv(ctx context.Context, f *flags, fn func(e *env) error) error {
	e, err := c.open(ctx, f.config)
	if err != nil {
		return err
	}
	defer e.Close()
	return fn(e)
}
