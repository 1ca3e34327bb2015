package pgvector

import "testing"

func TestFormatVector(t *testing.T) {
	tests := []struct {
		in   []float32
		want string
	}{
		{[]float32{1, -2.5, 0}, "[1,-2.5,0]"},
		{[]float32{0.1, 3e-5}, "[0.1,3e-05]"},
		{[]float32{}, "[]"},
	}
	for _, tt := range tests {
		if got := formatVector(tt.in); got != tt.want {
			t.Errorf("formatVector(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestVersionAtLeast(t *testing.T) {
	tests := []struct {
		version string
		want    bool
	}{
		{"0.8.0", true},
		{"0.8.1", true},
		{"0.10.0", true},
		{"1.0.0", true},
		{"0.7.4", false},
		{"0.5", false},
		{"garbage", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := versionAtLeast(tt.version, 0, 8); got != tt.want {
			t.Errorf("versionAtLeast(%q, 0, 8) = %v, want %v", tt.version, got, tt.want)
		}
	}
}
