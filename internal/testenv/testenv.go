// Package testenv holds helpers for tests that need programs or packages
// from outside Go, such as openssl, Node.js and the npm packages that
// scripts/setup-npm installs into testdata/npm/node_modules, or the
// PostgreSQL database with pgvector that scripts/setup-postgres prepares.
//
// A test whose requirement is missing is skipped with a message that tells
// how to install it. When the environment variable CI is "true" the test
// fails instead, so a CI run never passes by skipping.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireNPMPackage returns the testdata/npm/node_modules directory of the
// module when the node program is on PATH and the npm package name is
// installed there. Otherwise it skips the test, or fails it under
// CI=true, with a message telling the user to run scripts/setup-npm. Pass
// the returned directory to node as NODE_PATH so require(name) finds the
// package.
func RequireNPMPackage(t testing.TB, name string) (nodeModulesDir string) {
	t.Helper()
	dir, err := findNPMPackage(name)
	if err != nil {
		msg := fmt.Sprintf("%v; run scripts/setup-npm from the repository root", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// RequireProgram returns the path of the program name on PATH (or of
// name itself when it contains a path separator). When it is missing it
// skips the test, or fails it under CI=true, with a message telling the
// user to install it.
func RequireProgram(t testing.TB, name string) (path string) {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("%v; install %s to run this test", err, name)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// findNPMPackage returns the node_modules directory that contains the
// package name, or an error saying what is missing.
func findNPMPackage(name string) (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("node not found on PATH: %w", err)
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "testdata", "npm", "node_modules")
	manifest := filepath.Join(dir, filepath.FromSlash(name), "package.json")
	if _, err := os.Stat(manifest); err != nil {
		return "", fmt.Errorf("npm package %s not found in %s", name, dir)
	}
	return dir, nil
}

// moduleRoot returns the nearest directory at or above the working
// directory that contains go.mod. Go runs each test in its package's
// directory, so this is the root of the module under test.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod at or above the working directory")
		}
		dir = parent
	}
}
