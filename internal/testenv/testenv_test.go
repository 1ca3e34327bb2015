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

func TestRequireProgramFound(t *testing.T) {
	self, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatalf("absolute path of the test binary: %v", err)
	}
	if got := RequireProgram(t, self); got != self {
		t.Errorf("RequireProgram(%q) = %q, want the same path", self, got)
	}
}

func TestRequireProgramMissingSkips(t *testing.T) {
	t.Setenv("CI", "")
	var sub *testing.T
	t.Run("missing", func(t *testing.T) {
		sub = t
		RequireProgram(t, "no-such-program-for-agentry-tests")
		t.Error("RequireProgram returned for a missing program")
	})
	if !sub.Skipped() {
		t.Error("test with a missing program was not skipped")
	}
}

// TestRequireProgramMissingFailsInCI runs this test binary again with
// CI=true, because a failing subtest would fail this test too.
func TestRequireProgramMissingFailsInCI(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") == "1" {
		RequireProgram(t, "no-such-program-for-agentry-tests")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRequireProgramMissingFailsInCI$", "-test.v")
	cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", "CI=true")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child test passed under CI=true, want a failure; output:\n%s", out)
	}
	if !strings.Contains(string(out), "install no-such-program-for-agentry-tests") {
		t.Errorf("failure message does not say what to install; output:\n%s", out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Errorf("child test skipped under CI=true; output:\n%s", out)
	}
}
