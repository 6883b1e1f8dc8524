// Package g711 converts between 16-bit linear PCM and ITU-T G.711 μ-law
// (PCMU, RTP payload type 0) and A-law (PCMA, payload type 8).
//
// The arithmetic follows the ITU-T G.191 reference software (ulaw_compress,
// ulaw_expand, alaw_compress, alaw_expand), which scales G.711's 14-bit
// (μ-law) and 13-bit (A-law) linear values to 16 bits. Negative inputs use
// the one's complement magnitude (^x) as G.191 does, so the encoders are
// exactly symmetric: Encode(^x) == Encode(x) ^ 0x80. All conversions are
// table lookups built once at start-up (about 21 KiB).
package g711

// Decoded values of every code word, and encoders indexed by the top bits of
// the linear sample (μ-law uses the top 14 bits, A-law the top 12, exactly
// the bits the G.191 encoders look at).
var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	linearToUlaw [1 << 14]byte // index: uint16(x) >> 2
	linearToAlaw [1 << 12]byte // index: uint16(x) >> 4
)

func init() {
	for c := range 256 {
		ulawToLinear[c] = ulawExpand(byte(c))
		alawToLinear[c] = alawExpand(byte(c))
	}
	for i := range linearToUlaw {
		linearToUlaw[i] = ulawCompress(int16(uint16(i) << 2))
	}
	for i := range linearToAlaw {
		linearToAlaw[i] = alawCompress(int16(uint16(i) << 4))
	}
}

// ulawCompress is G.191 ulaw_compress for one sample: a bias of 33 (in
// 14-bit units) is added so that segment boundaries fall on powers of two,
// then the segment (exponent) and 4 mantissa bits are taken and the whole
// code word is inverted (G.711 §3, Table 2a: even bits are not inverted for
// μ-law, all bits are).
func ulawCompress(x int16) byte {
	var mag int32
	if x < 0 {
		mag = int32(^x)>>2 + 33
	} else {
		mag = int32(x)>>2 + 33
	}
	if mag > 0x1FFF {
		mag = 0x1FFF
	}
	seg := 1
	for i := mag >> 6; i != 0; i >>= 1 {
		seg++
	}
	code := byte(8-seg)<<4 | byte(0x0F-(mag>>seg)&0x0F)
	if x >= 0 {
		code |= 0x80
	}
	return code
}

// ulawExpand is G.191 ulaw_expand.
func ulawExpand(code byte) int16 {
	u := ^code
	t := (int32(u&0x0F)<<3 + 0x84) << ((u & 0x70) >> 4)
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// alawCompress is G.191 alaw_compress: a 12-bit magnitude (sign plus 11
// bits of the 16-bit sample), 3-bit segment from the leading one and 4
// mantissa bits, the sign bit set for positive values, then the even bits
// inverted (XOR 0x55, G.711 Table 1a).
func alawCompress(x int16) byte {
	var mag int32
	if x < 0 {
		mag = int32(^x) >> 4
	} else {
		mag = int32(x) >> 4
	}
	code := mag // segment 0: the mantissa is the magnitude itself
	if mag > 15 {
		exp := int32(1)
		for mag > 16+15 {
			mag >>= 1
			exp++
		}
		code = exp<<4 + mag - 16 // drop the leading one
	}
	if x >= 0 {
		code |= 0x80
	}
	return byte(code) ^ 0x55
}

// alawExpand is G.191 alaw_expand.
func alawExpand(code byte) int16 {
	a := code ^ 0x55
	exp := (a & 0x70) >> 4
	mant := int32(a & 0x0F)
	if exp > 0 {
		mant += 16
	}
	mant = mant<<4 + 8
	if exp > 1 {
		mant <<= exp - 1
	}
	if a&0x80 != 0 {
		return int16(mant)
	}
	return int16(-mant)
}

// EncodeUlaw compresses one linear sample to μ-law.
func EncodeUlaw(x int16) byte { return linearToUlaw[uint16(x)>>2] }

// DecodeUlaw expands one μ-law code word. 0xFF and 0x7F both decode to 0.
func DecodeUlaw(c byte) int16 { return ulawToLinear[c] }

// EncodeAlaw compresses one linear sample to A-law.
func EncodeAlaw(x int16) byte { return linearToAlaw[uint16(x)>>4] }

// DecodeAlaw expands one A-law code word.
func DecodeAlaw(c byte) int16 { return alawToLinear[c] }

// AppendUlaw appends the μ-law encoding of pcm to dst.
func AppendUlaw(dst []byte, pcm []int16) []byte {
	dst = grow(dst, len(pcm))
	for _, x := range pcm {
		dst = append(dst, linearToUlaw[uint16(x)>>2])
	}
	return dst
}

// AppendAlaw appends the A-law encoding of pcm to dst.
func AppendAlaw(dst []byte, pcm []int16) []byte {
	dst = grow(dst, len(pcm))
	for _, x := range pcm {
		dst = append(dst, linearToAlaw[uint16(x)>>4])
	}
	return dst
}

// AppendUlawPCM appends the linear samples of μ-law codes to dst.
func AppendUlawPCM(dst []int16, codes []byte) []int16 {
	dst = grow(dst, len(codes))
	for _, c := range codes {
		dst = append(dst, ulawToLinear[c])
	}
	return dst
}

// AppendAlawPCM appends the linear samples of A-law codes to dst.
func AppendAlawPCM(dst []int16, codes []byte) []int16 {
	dst = grow(dst, len(codes))
	for _, c := range codes {
		dst = append(dst, alawToLinear[c])
	}
	return dst
}

// UlawToAlaw transcodes through linear PCM (for a PCMU leg bridged to a
// PCMA leg).
func UlawToAlaw(c byte) byte { return EncodeAlaw(DecodeUlaw(c)) }

// AlawToUlaw transcodes through linear PCM.
func AlawToUlaw(c byte) byte { return EncodeUlaw(DecodeAlaw(c)) }

func grow[S ~[]E, E any](s S, n int) S {
	if cap(s)-len(s) < n {
		ns := make(S, len(s), len(s)+n)
		copy(ns, s)
		return ns
	}
	return s
}
