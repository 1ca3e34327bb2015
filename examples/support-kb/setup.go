package main

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/agentry/agentry/manifest"
)

// files holds the manifest, the rules of its scripted model and the
// product documents, so the program runs from any working directory.
//
//go:embed agent.yaml script.yaml docs/*.md
var files embed.FS

// loadManifest writes the script and the documents to dir and parses the
// embedded agent.yaml as if it were in dir, with apiKey in place of
// ${AGENTRY_API_KEY}. With OPENAI_API_KEY or OPENAI_BASE_URL set, both
// model lanes use OpenAI's OPENAI_MODEL (default gpt-4o-mini) instead of
// the script.
func loadManifest(dir, apiKey string) (*manifest.Manifest, error) {
	yaml, err := files.ReadFile("agent.yaml")
	if err != nil {
		return nil, err
	}
	if err := copyFiles(dir); err != nil {
		return nil, err
	}
	lookup := func(k string) (string, bool) {
		if k == "AGENTRY_API_KEY" {
			return apiKey, true
		}
		return "", false
	}
	m, err := manifest.Parse(yaml, manifest.WithDir(dir), manifest.WithLookupEnv(lookup))
	if err != nil {
		return nil, fmt.Errorf("examples/support-kb/agent.yaml: %w", err)
	}
	useOpenAI(m)
	return m, nil
}

// copyFiles writes script.yaml and docs/ from the embedded files to dir.
func copyFiles(dir string) error {
	return fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == "." || path == "agent.yaml" {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		data, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, 0o600); err != nil {
			return fmt.Errorf("write %s to %s: %w", path, dir, err)
		}
		return nil
	})
}

// useOpenAI switches m's chat and evaluation lanes to an OpenAI model when
// the environment names one. The search keeps the lexical embedder.
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

// newAPIKey returns a random bearer token for this run of the program.
func newAPIKey() string {
	b := make([]byte, 24)
	// crypto/rand.Read never returns an error since Go 1.24: it crashes
	// the program when the system's random source fails.
	_, _ = rand.Read(b)
	return "agk_" + hex.EncodeToString(b)
}
