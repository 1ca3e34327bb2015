package manifest

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(validYAML))
	f.Add(defaultYAML)
	f.Add([]byte("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"))
	f.Add([]byte("base: &b {x: 1}\nm: {<<: [*b, *b], y: ${V:-2}}\n"))
	f.Add([]byte("id: $${x} ${Y\nname: [\n"))
	f.Add([]byte(strings.Replace(validYAML, "scripted/demo", "interactive/agent", 1)))
	f.Add([]byte("? [a]\n: b\n---\nc: d\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data, WithDir(dir), env(map[string]string{"V": "1"}))
		if err == nil && m == nil {
			t.Fatal("Parse returned neither a manifest nor an error")
		}
	})
}
