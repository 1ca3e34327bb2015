// Package toolname maps namespaced tool names ("ns:name") to names that
// model providers accept and back. It is shared by package llm and
// llm/scripted so both agree on one mapping.
package toolname

import (
	"hash/fnv"
	"strings"
)

// MaxLen is the longest tool name that OpenAI and Anthropic accept.
const MaxLen = 64

// Separator replaces the namespace separator ':' in provider names.
const Separator = "__"

// Valid reports whether name matches ^[a-zA-Z0-9_-]{1,64}$, the pattern
// that OpenAI and Anthropic enforce on tool names.
func Valid(name string) bool {
	if name == "" || len(name) > MaxLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !validByte(name[i]) {
			return false
		}
	}
	return true
}

func validByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
		c >= '0' && c <= '9' || c == '_' || c == '-'
}

// ToProvider maps name to a provider-safe name. The first ':' becomes
// "__" and every other byte outside [a-zA-Z0-9_-] becomes '_'. When that
// loses information (FromProvider would not restore name) or the result is
// longer than MaxLen, the result is cut to fit and ends in '_' plus eight
// hex digits of a hash of name, so distinct names stay distinct. A name
// that is already valid and has no ':' is returned unchanged.
func ToProvider(name string) string {
	if Valid(name) {
		return name
	}
	if name == "" {
		return "_"
	}
	var b strings.Builder
	b.Grow(len(name) + 1)
	separated := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == ':' && !separated:
			b.WriteString(Separator)
			separated = true
		case validByte(c):
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) <= MaxLen && FromProvider(out) == name {
		return out
	}
	return withHash(out, name)
}

// withHash cuts mapped so that '_' and eight hex digits of the hash of
// original fit within MaxLen, and appends them.
func withHash(mapped, original string) string {
	h := fnv.New32a()
	h.Write([]byte(original))
	sum := h.Sum32()
	const hexDigits = "0123456789abcdef"
	var suffix [9]byte
	suffix[0] = '_'
	for i := 8; i >= 1; i-- {
		suffix[i] = hexDigits[sum&0xf]
		sum >>= 4
	}
	if len(mapped) > MaxLen-len(suffix) {
		mapped = mapped[:MaxLen-len(suffix)]
	}
	return mapped + string(suffix[:])
}

// FromProvider turns the first "__" of name back into ':'. It inverts
// ToProvider for names whose namespace contains no "__" and whose parts
// use only letters, digits, '_' and '-' within MaxLen bytes. Other names
// can only be restored from the list of tools that was offered.
func FromProvider(name string) string {
	i := strings.Index(name, Separator)
	if i <= 0 {
		return name
	}
	return name[:i] + ":" + name[i+len(Separator):]
}
