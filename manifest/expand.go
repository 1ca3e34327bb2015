package manifest

import "strings"

// expandString replaces ${NAME} and ${NAME:-default} in s with values from
// env, and $${ with a literal ${. The default applies when NAME is unset
// or empty, as in POSIX shells; it is literal text up to the first '}'.
// Every problem is passed to report, and the reference that caused it is
// kept unexpanded.
func expandString(s string, env func(string) (string, bool), report func(format string, args ...any)) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$${"):
			b.WriteString("${")
			s = s[3:]
		case strings.HasPrefix(s, "${"):
			end := strings.IndexByte(s, '}')
			if end < 0 {
				report("unterminated ${: close it with '}', or write $${ for a literal ${")
				b.WriteString(s)
				return b.String()
			}
			ref := s[:end+1]
			s = s[end+1:]
			b.WriteString(expandRef(ref, env, report))
		default:
			b.WriteByte('$')
			s = s[1:]
		}
	}
}

// expandRef resolves one "${...}" reference.
func expandRef(ref string, env func(string) (string, bool), report func(format string, args ...any)) string {
	body := ref[2 : len(ref)-1]
	name, def, hasDefault := strings.Cut(body, ":-")
	if !validVarName(name) {
		report("invalid variable reference %q: write ${NAME} or ${NAME:-default}, where NAME is letters, digits and '_', or $${ for a literal ${", ref)
		return ref
	}
	if v, ok := env(name); ok && (v != "" || !hasDefault) {
		return v
	}
	if hasDefault {
		return def
	}
	report("environment variable %s is not set: set it, or give a default with ${%s:-value}", name, name)
	return ref
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
