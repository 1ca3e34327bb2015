package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRequireNPMPackageInstalled(t *testing.T) {
	dir := RequireNPMPackage(t, "standardwebhooks")
	if _, err := os.Stat(filepath.Join(dir, "standardwebhooks", "package.json")); err != nil {
		t.Errorf("returned %s, which has no standardwebhooks package: %v", dir, err)
	}
	if filepath.Base(dir) != "node_modules" {
		t.Errorf("returned %s, want a node_modules directory", dir)
	}
}

func TestRequireNPMPackageMissingSkips(t *testing.T) {
	t.Setenv("CI", "")
	var sub *testing.T
	t.Run("missing", func(t *testing.T) {
		sub = t
		RequireNPMPackage(t, "no-such-package-for-agentry-tests")
		t.Error("RequireNPMPackage returned for a missing package")
	})
	if !sub.Skipped() {
		t.Error("test with a missing package was not skipped")
	}
}

// TestRequireNPMPackageMissingFailsInCI runs this test binary again with
// CI=true, because a failing subtest would fail this test too.
func TestRequireNPMPackageMissingFailsInCI(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		RequireNPMPackage(t, "no-such-package-for-agentry-tests")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRequireNPMPackageMissingFailsInCI$", "-test.v")
	cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI=true")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child test passed under CI=true, want a failure; output:\n%s", out)
	}
	if !strings.Contains(string(out), "scripts/setup-npm") {
		t.Errorf("failure message does not mention scripts/setup-npm; output:\n%s", out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Errorf("child test skipped under CI=true; output:\n%s", out)
	}
}
