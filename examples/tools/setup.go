package main

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/agentry/agentry/manifest"
)

// files holds the manifest and the rules of its scripted model, so the
// program runs from any working directory.
//
//go:embed agent.yaml script.yaml
var files embed.FS

// loadManifest parses the embedded agent.yaml with env as its environment
// for ${VAR} references. The manifest names its script by a path relative
// to itself, so the script is written to dir and the manifest is parsed as
// if it were in dir. With OPENAI_API_KEY or OPENAI_BASE_URL set, the chat
// lane uses OpenAI's OPENAI_MODEL (default gpt-4o-mini) instead of the
// script.
func loadManifest(dir string, env map[string]string) (*manifest.Manifest, error) {
	yaml, err := files.ReadFile("agent.yaml")
	if err != nil {
		return nil, err
	}
	script, err := files.ReadFile("script.yaml")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "script.yaml"), script, 0o600); err != nil {
		return nil, fmt.Errorf("write the model script to %s: %w", dir, err)
	}
	m, err := manifest.Parse(yaml, manifest.WithDir(dir), manifest.WithLookupEnv(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}))
	if err != nil {
		return nil, fmt.Errorf("examples/tools/agent.yaml: %w", err)
	}
	useOpenAI(m)
	return m, nil
}

// useOpenAI switches m's chat and evaluation lanes to an OpenAI model when
// the environment names one.
func useOpenAI(m *manifest.Manifest) {
	key, baseURL := os.Getenv("OPENAI_API_KEY"), os.Getenv("OPENAI_BASE_URL")
	if key == "" && baseURL == "" {
		return
	}
	model := os.Getenv("OPENAI_MODEL")
	if model == "" {
		model = "gpt-4o-mini"
	}
	llmCfg := &m.AgentConfig.LLMs
	llmCfg.Default = "openai/" + model
	llmCfg.Evaluation = llmCfg.Default
	llmCfg.Fallback, llmCfg.EvaluationFallback = nil, nil
	llmCfg.Providers = map[string]manifest.Provider{"openai": {APIKey: key, BaseURL: baseURL}}
}

// newToken returns a random bearer token with the given prefix, for this
// run of the program.
func newToken(prefix string) string {
	b := make([]byte, 24)
	// crypto/rand.Read never returns an error since Go 1.24: it crashes
	// the program when the system's random source fails.
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
