package ownkey

import "testing"

// BenchmarkRouteModel measures the routing lookup on the chat hot path, one
// case per rule that consults a table: the maker prefix, and the catalog
// step with a lower-case and a mixed-case model id.
func BenchmarkRouteModel(b *testing.B) {
	cases := []struct{ name, model, key string }{
		{"maker", "gpt-4o-mini", "openai"},
		{"catalog", "llama-3.3-70b", "cerebras"},
		{"catalog-mixed-case", "deepseek-ai/DeepSeek-V3", "deepinfra"},
	}
	for _, c := range cases {
		configured := func(id string) bool { return id == c.key }
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := RouteModel(c.model, "", configured); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
