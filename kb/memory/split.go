package memory

import (
	"maps"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agentry/agentry/kb"
)

// DefaultMaxChunkBytes is the chunk size limit when Options.MaxChunkBytes
// is zero.
const DefaultMaxChunkBytes = 2000

// Document is a text to load into a Retriever.
type Document struct {
	// ID names the document. The chunk IDs are ID + "#" + the chunk's
	// index in the document, from 0. Required, and unique within a
	// Retriever.
	ID string
	// Text is the document's UTF-8 text.
	Text string
	// Markdown makes headings start chunks and skips a YAML front matter
	// block. Default false: the text is split on paragraphs only.
	Markdown bool
	// Metadata is copied into the metadata of every chunk. Its values
	// must be encodable as JSON.
	Metadata map[string]any
}

// piece is a chunk before it gets an ID and metadata.
type piece struct {
	content string
	title   string
	// continued marks a piece that is not the first of its section, so
	// its content lacks the heading.
	continued bool
}

// SplitDocument splits doc into chunks of at most maxChunkBytes bytes
// (DefaultMaxChunkBytes when maxChunkBytes is 0 or less), with a score of
// 0. In Markdown, each ATX ("## Title") or setext (a line underlined with
// "=" or "-") heading starts a chunk, and its text becomes the "title"
// metadata of every chunk of its section. A heading with no text under
// it makes no chunk. Sections, and plain text, are cut between
// paragraphs; a paragraph longer than the limit is cut between lines,
// then between words, then inside a word. Fenced code blocks are not cut
// at their blank lines.
func SplitDocument(doc Document, maxChunkBytes int) []kb.Chunk {
	return toChunks(doc, split(doc, maxChunkBytes))
}

// toChunks gives pieces of doc their IDs and metadata.
func toChunks(doc Document, pieces []piece) []kb.Chunk {
	chunks := make([]kb.Chunk, len(pieces))
	for i, p := range pieces {
		metadata := maps.Clone(doc.Metadata)
		if p.title != "" {
			if metadata == nil {
				metadata = map[string]any{}
			}
			metadata["title"] = p.title
		}
		chunks[i] = kb.Chunk{ID: chunkID(doc.ID, i), Content: p.content, Metadata: metadata}
	}
	return chunks
}

func chunkID(docID string, index int) string {
	return docID + "#" + strconv.Itoa(index)
}

func split(doc Document, maxChunkBytes int) []piece {
	if maxChunkBytes <= 0 {
		maxChunkBytes = DefaultMaxChunkBytes
	}
	text := strings.TrimPrefix(doc.Text, "\uFEFF")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	if doc.Markdown {
		lines = skipFrontMatter(lines)
	}

	var pieces []piece
	for _, s := range sections(parseBlocks(lines, doc.Markdown)) {
		var current string
		first := true
		emit := func() {
			if strings.TrimSpace(current) == "" {
				return
			}
			pieces = append(pieces, piece{content: current, title: s.title, continued: !first})
			first = false
			current = ""
		}
		for _, b := range s.blocks {
			for _, part := range cut(b, maxChunkBytes) {
				if current != "" && len(current)+2+len(part) > maxChunkBytes {
					emit()
				}
				if current == "" {
					current = part
				} else {
					current += "\n\n" + part
				}
			}
		}
		emit()
	}
	return pieces
}

// block is a paragraph, a fenced code block or a heading.
type block struct {
	text    string
	heading bool
	title   string
}

var (
	atxHeading      = regexp.MustCompile(`^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	setextUnderline = regexp.MustCompile(`^ {0,3}(?:=+|-+)[ \t]*$`)
	fenceOpen       = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
	// notHeadingText matches paragraph starts that a setext underline
	// cannot turn into a heading: list items, block quotes and indented
	// code.
	notHeadingText = regexp.MustCompile(`^(?: {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)| {0,3}>| {4}|\t)`)
)

// parseBlocks groups lines into blocks separated by blank lines. In
// Markdown it also recognises headings and keeps each fenced code block
// in one block.
func parseBlocks(lines []string, markdown bool) []block {
	var blocks []block
	var paragraph []string
	flush := func() {
		if len(paragraph) > 0 {
			blocks = append(blocks, block{text: strings.Join(paragraph, "\n")})
			paragraph = nil
		}
	}

	fence := "" // the opening fence while inside a fenced code block
	for _, line := range lines {
		if fence != "" {
			paragraph = append(paragraph, line)
			if closesFence(line, fence) {
				fence = ""
				flush()
			}
			continue
		}
		if markdown {
			if m := fenceOpen.FindStringSubmatch(line); m != nil {
				flush()
				fence = m[1]
				paragraph = append(paragraph, line)
				continue
			}
			if m := atxHeading.FindStringSubmatch(line); m != nil {
				flush()
				blocks = append(blocks, block{text: line, heading: true, title: strings.TrimSpace(m[1])})
				continue
			}
			if setextUnderline.MatchString(line) && len(paragraph) > 0 && !notHeadingText.MatchString(paragraph[0]) {
				title := make([]string, len(paragraph))
				for i, l := range paragraph {
					title[i] = strings.TrimSpace(l)
				}
				blocks = append(blocks, block{
					text:    strings.Join(paragraph, "\n") + "\n" + line,
					heading: true,
					title:   strings.Join(title, " "),
				})
				paragraph = nil
				continue
			}
		}
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		paragraph = append(paragraph, line)
	}
	flush()
	return blocks
}

// closesFence reports whether line closes a code block opened with fence:
// the same character, at least as many times, and nothing else.
func closesFence(line, fence string) bool {
	trimmed := strings.TrimLeft(line, " ")
	if len(line)-len(trimmed) > 3 {
		return false
	}
	trimmed = strings.TrimRight(trimmed, " \t")
	return len(trimmed) >= len(fence) && strings.Trim(trimmed, fence[:1]) == ""
}

// skipFrontMatter drops a YAML front matter block: a first line "---"
// and everything up to the next line "---" or "...". A first "---"
// without a closing line is kept as text.
func skipFrontMatter(lines []string) []string {
	if len(lines) == 0 || strings.TrimRight(lines[0], " \t") != "---" {
		return lines
	}
	for i := 1; i < len(lines); i++ {
		if l := strings.TrimRight(lines[i], " \t"); l == "---" || l == "..." {
			return lines[i+1:]
		}
	}
	return lines
}

// section is a heading and the blocks up to the next heading. The blocks
// include the heading's own text.
type section struct {
	title  string
	blocks []string
}

// sections groups blocks under their headings and drops headings with
// nothing under them.
func sections(blocks []block) []section {
	var out []section
	var current section
	hasBody := false
	for _, b := range blocks {
		if b.heading {
			if hasBody {
				out = append(out, current)
			}
			current = section{title: b.title, blocks: []string{b.text}}
			hasBody = false
			continue
		}
		current.blocks = append(current.blocks, b.text)
		hasBody = true
	}
	if hasBody {
		out = append(out, current)
	}
	return out
}

// cut splits text into parts of at most limit bytes, preferring line
// breaks, then spaces, then any rune boundary.
func cut(text string, limit int) []string {
	var parts []string
	for len(text) > limit {
		end := strings.LastIndexByte(text[:limit+1], '\n')
		if end <= 0 {
			end = strings.LastIndexAny(text[:limit+1], " \t")
		}
		next := end + 1 // skip the separator
		if end <= 0 {
			end = limit
			for end > 0 && !utf8.RuneStart(text[end]) {
				end--
			}
			if end == 0 {
				_, end = utf8.DecodeRuneInString(text)
			}
			next = end
		}
		if part := strings.TrimRight(text[:end], " \t\n"); part != "" {
			parts = append(parts, part)
		}
		text = strings.TrimLeft(text[next:], " \t\n")
	}
	if text != "" {
		parts = append(parts, text)
	}
	return parts
}
