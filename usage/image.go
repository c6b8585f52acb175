package usage

import (
	"encoding/binary"
	"math"
)

// imageSize reads the width and height of a PNG, GIF, WebP or JPEG image
// from its first bytes (head: as much of the file as the caller decoded),
// without decoding the image. ok is false for another format, a header
// that head does not hold whole, or a zero dimension.
func imageSize(head []byte) (w, h int, ok bool) {
	switch {
	case len(head) >= 24 && string(head[:8]) == "\x89PNG\r\n\x1a\n" && string(head[12:16]) == "IHDR":
		w, h = int(binary.BigEndian.Uint32(head[16:])), int(binary.BigEndian.Uint32(head[20:]))
	case len(head) >= 10 && (string(head[:6]) == "GIF87a" || string(head[:6]) == "GIF89a"):
		w, h = int(binary.LittleEndian.Uint16(head[6:])), int(binary.LittleEndian.Uint16(head[8:]))
	case len(head) >= 16 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		w, h = webpSize(head)
	case len(head) >= 2 && head[0] == 0xFF && head[1] == 0xD8:
		w, h = jpegSize(head)
	}
	// A dimension beyond what any API accepts is as good as unknown (and
	// keeps the products below far from overflowing).
	if w <= 0 || h <= 0 || w > 1<<20 || h > 1<<20 {
		return 0, 0, false
	}
	return w, h, true
}

// webpSize reads the canvas of the three WebP bitstreams (lossy VP8,
// lossless VP8L, extended VP8X; RFC 9649).
func webpSize(b []byte) (w, h int) {
	switch string(b[12:16]) {
	case "VP8 ":
		// Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and
		// height, each with 2 bits of scaling above.
		if len(b) >= 30 && b[23] == 0x9d && b[24] == 0x01 && b[25] == 0x2a {
			return int(binary.LittleEndian.Uint16(b[26:]) & 0x3fff), int(binary.LittleEndian.Uint16(b[28:]) & 0x3fff)
		}
	case "VP8L":
		// Signature 0x2f, then width-1 and height-1 in 14 bits each.
		if len(b) >= 25 && b[20] == 0x2f {
			bits := binary.LittleEndian.Uint32(b[21:])
			return int(bits&0x3fff) + 1, int(bits>>14&0x3fff) + 1
		}
	case "VP8X":
		// Flags and reserved (4 bytes), then canvas width-1 and height-1
		// in 24 bits each.
		if len(b) >= 30 {
			return int(uint32(b[24])|uint32(b[25])<<8|uint32(b[26])<<16) + 1, int(uint32(b[27])|uint32(b[28])<<8|uint32(b[29])<<16) + 1
		}
	}
	return 0, 0
}

// jpegSize walks a JPEG's marker segments to its frame header (SOF0–SOF15
// but DHT, JPG and DAC), whose height and width follow the precision byte.
func jpegSize(b []byte) (w, h int) {
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return 0, 0
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || 0xD0 <= marker && marker <= 0xD9: // no length
			i += 2
			continue
		}
		length := int(binary.BigEndian.Uint16(b[i+2:]))
		if length < 2 {
			return 0, 0
		}
		if 0xC0 <= marker && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
			if i+9 > len(b) {
				return 0, 0
			}
			return int(binary.BigEndian.Uint16(b[i+7:])), int(binary.BigEndian.Uint16(b[i+5:]))
		}
		i += 2 + length
	}
	return 0, 0
}

// imageRule prices an image on one maker's models, as the maker documents
// it. w and h are 0 when the size is unknown (an image by URL, or a format
// imageSize does not read); detail is OpenAI's image_url.detail.
type imageRule func(m *modelInfo, w, h int, detail string) int64

// openAIImage is OpenAI's rule (platform.openai.com/docs/guides/images-vision,
// "Calculating costs"). Tile models: low detail costs the base; high (and
// auto, which may choose high) fits the image in 2048×2048, scales its
// short side down to 768, and adds a tile's cost per 512 px tile. Patch
// models (gpt-4.1-mini and -nano, o4-mini, gpt-5-mini and -nano) count
// 32 px patches, at most 1536, times a multiplier, whatever the detail.
// Unknown size: the most a tile model charges (768×2048: 8 tiles), or
// 1536 patches.
func openAIImage(m *modelInfo, w, h int, detail string) int64 {
	name := m.canonical
	for _, p := range []struct {
		model    string
		permille int64
	}{{"gpt-4.1-mini", 1620}, {"gpt-4.1-nano", 2460}, {"o4-mini", 1720}, {"gpt-5-mini", 1620}, {"gpt-5-nano", 2460}} {
		if hasModelPrefix(name, p.model) {
			patches := int64(1536)
			if w > 0 {
				patches = min(patches, ceilDiv(int64(w), 32)*ceilDiv(int64(h), 32))
			}
			return ceilDiv(patches*p.permille, 1000)
		}
	}
	base, tile := int64(85), int64(170)
	switch {
	case hasModelPrefix(name, "gpt-4o-mini"):
		base, tile = 2833, 5667
	case hasModelPrefix(name, "o1"), hasModelPrefix(name, "o3"):
		base, tile = 75, 150
	case hasModelPrefix(name, "gpt-5"):
		base, tile = 70, 140
	case hasModelPrefix(name, "computer-use-preview"):
		base, tile = 65, 129
	}
	if detail == "low" {
		return base
	}
	return base + tile*openAITiles(w, h)
}

// openAITiles is the number of 512 px tiles of a high-detail image.
func openAITiles(w, h int) int64 {
	if w == 0 {
		return 8
	}
	fw, fh := float64(w), float64(h)
	if s := 2048 / max(fw, fh); s < 1 {
		fw, fh = fw*s, fh*s
	}
	if s := 768 / min(fw, fh); s < 1 {
		fw, fh = fw*s, fh*s
	}
	return int64(math.Ceil(fw/512)) * int64(math.Ceil(fh/512))
}

// anthropicImage is Anthropic's rule (docs.claude.com, "Images and
// vision"): about width×height/750 tokens, which is one token per 28×28 px
// patch; the larger of the two is charged. An image beyond the model's
// native size is first scaled down: a long edge of 1568 px and about 1,600
// tokens up to Claude 4.6, 2576 px and 4,784 tokens from Opus 4.7 on.
// Unknown size: that ceiling.
func anthropicImage(m *modelInfo, w, h int, _ string) int64 {
	edge, ceiling := 2576.0, int64(4784)
	if claudeBefore47(m.canonical) {
		edge, ceiling = 1568, 1600
	}
	if w == 0 {
		return ceiling
	}
	fw, fh := float64(w), float64(h)
	if s := edge / max(fw, fh); s < 1 {
		fw, fh = fw*s, fh*s
	}
	if s := math.Sqrt(float64(ceiling) * 750 / (fw * fh)); s < 1 {
		fw, fh = fw*s, fh*s
	}
	byArea := int64(math.Ceil(fw * fh / 750))
	byPatch := int64(math.Ceil(fw/28)) * int64(math.Ceil(fh/28))
	return min(max(byArea, byPatch), ceiling)
}

// geminiImage is Google's rule (ai.google.dev, "Understand and count
// tokens"): Gemini 2 counts 258 tokens for an image of at most 384 px each
// way, else 258 per 768×768 tile; Gemini 3 counts 1,120 for an image at its
// default (high) media resolution. Unknown size on Gemini 2: a 2048×2048
// image (9 tiles).
func geminiImage(m *modelInfo, w, h int, _ string) int64 {
	if !geminiBefore3(m.canonical) {
		return 1120
	}
	if w == 0 {
		w, h = 2048, 2048
	}
	if w <= 384 && h <= 384 {
		return 258
	}
	return 258 * ceilDiv(int64(w), 768) * ceilDiv(int64(h), 768)
}

// mistralImage is Pixtral's rule (Mistral's vision docs): the image fits
// in 1024×1024, one token per 16×16 px patch plus one per row of patches.
// Unknown size: 1024×1024.
func mistralImage(_ *modelInfo, w, h int, _ string) int64 {
	if w == 0 {
		w, h = 1024, 1024
	}
	fw, fh := float64(w), float64(h)
	if s := 1024 / max(fw, fh); s < 1 {
		fw, fh = fw*s, fh*s
	}
	rows := int64(math.Ceil(fh / 16))
	return int64(math.Ceil(fw/16))*rows + rows
}

// anyImage is for makers that publish no rule ownkey uses: the most any of
// the rules above charges, and at least Claude's newest ceiling when the
// size is unknown.
func anyImage(m *modelInfo, w, h int, _ string) int64 {
	return max(openAIImage(&modelInfo{}, w, h, "high"), anthropicImage(&modelInfo{}, w, h, ""),
		geminiImage(&modelInfo{canonical: "gemini-2"}, w, h, ""), mistralImage(m, w, h, ""))
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
