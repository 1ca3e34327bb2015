package testenv

import (
	"fmt"
	"os"
	"testing"
)

// Default paths of Debian's chromium and chromium-driver packages, which
// scripts/setup-chromium installs.
const (
	DefaultChromium     = "/usr/bin/chromium"
	DefaultChromedriver = "/usr/bin/chromedriver"
)

// Environment variables that override DefaultChromium and
// DefaultChromedriver. The two binaries must have the same major version.
const (
	ChromiumEnv     = "AGENTRY_TEST_CHROMIUM"
	ChromedriverEnv = "AGENTRY_TEST_CHROMEDRIVER"
)

// Chromium returns the paths of the Chromium browser and its chromedriver,
// read from AGENTRY_TEST_CHROMIUM and AGENTRY_TEST_CHROMEDRIVER or the
// Debian defaults when those are unset, after checking that both are
// executable files. Otherwise it skips the test, or fails it under
// CI=true, with a message telling the user to run scripts/setup-chromium.
func Chromium(t testing.TB) (browser, driver string) {
	t.Helper()
	browser = envOr(ChromiumEnv, DefaultChromium)
	driver = envOr(ChromedriverEnv, DefaultChromedriver)
	for _, path := range []string{browser, driver} {
		if err := checkExecutable(path); err != nil {
			msg := fmt.Sprintf("%v; run scripts/setup-chromium from the repository root, or set %s and %s", err, ChromiumEnv, ChromedriverEnv)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return browser, driver
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func checkExecutable(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("browser binary unavailable: %w", err)
	}
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("browser binary %s is not an executable file", path)
	}
	return nil
}
