package mosip

// MOSIP UINs and VIDs end in a Verhoeff check digit (kernel idgenerator).

var (
	verhoeffD = [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
		{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
	verhoeffInv = [10]byte{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}
)

// VerhoeffDigit returns the check digit to append to the decimal string
// digits. It panics on a non-digit, which is a programming error.
func VerhoeffDigit(digits string) byte {
	var c byte
	for i := len(digits) - 1; i >= 0; i-- {
		c = verhoeffD[c][verhoeffP[(len(digits)-i)%8][digit(digits[i])]]
	}
	return '0' + verhoeffInv[c]
}

// VerhoeffValid reports whether number (digits with the check digit last) is
// valid.
func VerhoeffValid(number string) bool {
	if number == "" {
		return false
	}
	var c byte
	for i := len(number) - 1; i >= 0; i-- {
		if number[i] < '0' || number[i] > '9' {
			return false
		}
		c = verhoeffD[c][verhoeffP[(len(number)-1-i)%8][number[i]-'0']]
	}
	return c == 0
}

func digit(b byte) byte {
	if b < '0' || b > '9' {
		panic("mosip: Verhoeff of a non-digit")
	}
	return b - '0'
}
