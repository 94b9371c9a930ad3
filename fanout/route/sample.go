package route

// sampler keeps a fixed share of event ids, the same ids on every replica
// and every replay.
type sampler struct {
	seed      uint64
	threshold uint64 // keep when hash < threshold
	all       bool   // ratio 1: keep everything without hashing
}

func newSampler(rule string, ratio float64) sampler {
	if ratio >= 1 {
		return sampler{all: true}
	}
	// ratio < 1, so the product is below 2^64 and the conversion is exact
	// enough (53 bits of mantissa).
	return sampler{seed: fnv64(rule), threshold: uint64(ratio * (1 << 64))}
}

func (s *sampler) keep(id string) bool {
	if s.all {
		return true
	}
	return mix64(idBits(id)^s.seed) < s.threshold
}

// idBits reads the first 64 bits of a hex event id. The id is already a
// uniform hash; anything else (short, not hex) is hashed instead, so a
// malformed id still samples deterministically.
func idBits(id string) uint64 {
	if len(id) < 16 {
		return fnv64(id)
	}
	var v uint64
	for i := 0; i < 16; i++ {
		c := id[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return fnv64(id)
		}
		v = v<<4 | uint64(d)
	}
	return v
}

// mix64 is the splitmix64 finalizer: XOR with a per-rule seed alone would
// keep the same ids for every rule of the same ratio; mixing decorrelates.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
