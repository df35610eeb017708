package idcard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
)

// A small CBOR (RFC 8949) decoder for Claim 169 codes: what a scanned code
// can contain, with limits on depth and size. Values decode to int64 (or
// uint64 above MaxInt64), []byte, string, []any, map[any]any (keys int64
// or string), cborTag, bool, nil and float64.

type cborTag struct {
	num     uint64
	content any
}

const (
	cborMaxDepth = 32
	cborMaxItems = 1 << 16
)

type cborDecoder struct {
	data  []byte
	pos   int
	items int
}

var errCBORBreak = errors.New("cbor: unexpected break")

// cborDecode decodes one item that must fill data.
func cborDecode(data []byte) (any, error) {
	d := &cborDecoder{data: data}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(d.data) {
		return nil, fmt.Errorf("cbor: %d bytes after the item", len(d.data)-d.pos)
	}
	return v, nil
}

func (d *cborDecoder) byte() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, errors.New("cbor: truncated")
	}
	b := d.data[d.pos]
	d.pos++
	return b, nil
}

// arg reads the argument of a head whose additional information is ai;
// indefinite reports ai 31.
func (d *cborDecoder) arg(ai byte) (n uint64, indefinite bool, err error) {
	switch {
	case ai < 24:
		return uint64(ai), false, nil
	case ai <= 27:
		size := 1 << (ai - 24)
		if len(d.data)-d.pos < size {
			return 0, false, errors.New("cbor: truncated")
		}
		for _, b := range d.data[d.pos : d.pos+size] {
			n = n<<8 | uint64(b)
		}
		d.pos += size
		return n, false, nil
	case ai == 31:
		return 0, true, nil
	}
	return 0, false, fmt.Errorf("cbor: reserved additional information %d", ai)
}

func (d *cborDecoder) value(depth int) (any, error) {
	if depth > cborMaxDepth {
		return nil, errors.New("cbor: nested too deeply")
	}
	if d.items++; d.items > cborMaxItems {
		return nil, errors.New("cbor: too many items")
	}
	head, err := d.byte()
	if err != nil {
		return nil, err
	}
	major, ai := head>>5, head&0x1f
	if major == 7 {
		return d.simple(ai)
	}
	n, indefinite, err := d.arg(ai)
	if err != nil {
		return nil, err
	}
	if indefinite && (major == 0 || major == 1 || major == 6) {
		return nil, fmt.Errorf("cbor: major type %d cannot be indefinite", major)
	}
	switch major {
	case 0:
		if n > math.MaxInt64 {
			return n, nil
		}
		return int64(n), nil
	case 1:
		if n > math.MaxInt64 {
			return nil, errors.New("cbor: negative integer out of range")
		}
		return -1 - int64(n), nil
	case 2, 3:
		var b []byte
		if indefinite {
			for {
				if d.pos < len(d.data) && d.data[d.pos] == 0xff {
					d.pos++
					break
				}
				chunk, err := d.value(depth + 1)
				if err != nil {
					return nil, err
				}
				switch c := chunk.(type) {
				case []byte:
					if major != 2 {
						return nil, errors.New("cbor: mixed string chunks")
					}
					b = append(b, c...)
				case string:
					if major != 3 {
						return nil, errors.New("cbor: mixed string chunks")
					}
					b = append(b, c...)
				default:
					return nil, errors.New("cbor: bad string chunk")
				}
			}
		} else {
			if n > uint64(len(d.data)-d.pos) {
				return nil, errors.New("cbor: truncated")
			}
			b = d.data[d.pos : d.pos+int(n)]
			d.pos += int(n)
		}
		if major == 3 {
			if !utf8.Valid(b) {
				return nil, errors.New("cbor: text is not UTF-8")
			}
			return string(b), nil
		}
		return append([]byte(nil), b...), nil
	case 4:
		if !indefinite && n > uint64(len(d.data)-d.pos) {
			return nil, errors.New("cbor: truncated")
		}
		var out []any
		for i := uint64(0); indefinite || i < n; i++ {
			if indefinite && d.pos < len(d.data) && d.data[d.pos] == 0xff {
				d.pos++
				break
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	case 5:
		if !indefinite && n > uint64(len(d.data)-d.pos)/2 {
			return nil, errors.New("cbor: truncated")
		}
		out := map[any]any{}
		for i := uint64(0); indefinite || i < n; i++ {
			if indefinite && d.pos < len(d.data) && d.data[d.pos] == 0xff {
				d.pos++
				break
			}
			k, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			switch k.(type) {
			case int64, string:
			default:
				return nil, errors.New("cbor: map key is neither an integer nor text")
			}
			if _, dup := out[k]; dup {
				return nil, errors.New("cbor: duplicate map key")
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case 6:
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		return cborTag{num: n, content: v}, nil
	}
	return nil, fmt.Errorf("cbor: unknown major type %d", major)
}

func (d *cborDecoder) simple(ai byte) (any, error) {
	switch ai {
	case 20:
		return false, nil
	case 21:
		return true, nil
	case 22, 23:
		return nil, nil
	case 25:
		n, _, err := d.arg(ai)
		return halfFloat(uint16(n)), err
	case 26:
		if len(d.data)-d.pos < 4 {
			return nil, errors.New("cbor: truncated")
		}
		f := math.Float32frombits(binary.BigEndian.Uint32(d.data[d.pos:]))
		d.pos += 4
		return float64(f), nil
	case 27:
		if len(d.data)-d.pos < 8 {
			return nil, errors.New("cbor: truncated")
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(d.data[d.pos:]))
		d.pos += 8
		return f, nil
	case 31:
		return nil, errCBORBreak
	}
	return nil, fmt.Errorf("cbor: unsupported simple value %d", ai)
}

func halfFloat(h uint16) float64 {
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	var f float64
	switch exp {
	case 0:
		f = math.Ldexp(mant, -24)
	case 31:
		if mant == 0 {
			f = math.Inf(1)
		} else {
			f = math.NaN()
		}
	default:
		f = math.Ldexp(mant+1024, exp-25)
	}
	if h&0x8000 != 0 {
		f = -f
	}
	return f
}
