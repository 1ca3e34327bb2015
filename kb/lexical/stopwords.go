package lexical

// stopWords are English function words that carry little meaning for
// search. Changing this list changes every vector.
var stopWords = map[string]bool{}

func init() {
	for _, word := range []string{
		"a", "about", "after", "all", "also", "am", "an", "and", "any",
		"are", "as", "at", "be", "been", "before", "but", "by", "can",
		"could", "did", "do", "does", "doing", "for", "from", "had",
		"has", "have", "he", "her", "here", "him", "his", "how", "i",
		"if", "in", "into", "is", "it", "its", "me", "my", "no", "not",
		"of", "on", "or", "our", "over", "she", "should", "so", "some",
		"such", "than", "that", "the", "their", "them", "then", "there",
		"these", "they", "this", "those", "through", "to", "too", "up",
		"us", "very", "was", "we", "were", "what", "when", "where",
		"which", "while", "who", "whom", "why", "will", "with", "would",
		"you", "your", "yours",
	} {
		stopWords[word] = true
	}
}
