package opencrvssim

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	"opencrvs-mosip/internal/mosip"
)

// generator draws the demographic content of records from a seeded source.
// It is not safe for concurrent use; Sim guards it with genMu.
type generator struct {
	rng *mrand.Rand
	// National ids come from a permutation of a counter, so they never repeat
	// within one simulator and need no memory to stay unique.
	nidSeq, nidOffset uint64
}

func newGenerator(seed uint64) *generator {
	if seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		seed = binary.LittleEndian.Uint64(b[:])
	}
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &generator{rng: rng, nidOffset: rng.Uint64N(nidSpace)}
}

// person is one individual of a declaration.
type person struct {
	given, middle, family string
	gender                string // male | female
	birthDate             time.Time
	nid                   string
	addr                  *address
	// deathDate is set on the subject summary of a death (record.subject).
	deathDate time.Time
}

func (p *person) fullName() string {
	parts := make([]string, 0, 3)
	for _, s := range []string{p.given, p.middle, p.family} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// address is a PRIMARY_ADDRESS in Farajaland.
type address struct {
	number, street, area string
	district             *districtInfo
}

// districtInfo is one district with its state, CRVS office and facilities.
type districtInfo struct {
	name, state string
	postalCode  string
	facilities  []string
}

// districts flattens geography; built once per generator from read-only tables.
var districts = func() []districtInfo {
	var out []districtInfo
	for si, st := range geography {
		for di, d := range st.districts {
			info := districtInfo{name: d, state: st.state, postalCode: fmt.Sprintf("%d%d%03d", si+1, di+1, 101)}
			for _, k := range facilityKinds {
				info.facilities = append(info.facilities, d+" "+k)
			}
			out = append(out, info)
		}
	}
	return out
}()

// qItem is one QuestionnaireResponse answer (custom form field).
type qItem struct{ text, value string }

// declaration is everything a generated record says, independent of the
// wire shape (FHIR bundle or mapped payload).
type declaration struct {
	kind      string // birth | death
	createdAt time.Time
	// subject is the child (birth) or the deceased (death).
	subject *person
	mother  *person // birth
	father  *person // birth; nil when the father is not declared
	spouse  *person // death
	// informant is a separate informant (legal guardian, son, ...); nil when
	// the informant is the mother, father or spouse.
	informant    *person
	informantRel string
	deathDate    time.Time
	facility     string // place of birth or death
	facilityDist *districtInfo
	office       *districtInfo
	registrar    int
	email, phone string
	items        []qItem
}

// subjectSummary returns the child or the deceased as a record keeps them:
// a copy with the death date, and for a child the mother's address (a child
// lives with its mother).
func (d *declaration) subjectSummary() *person {
	p := *d.subject
	if p.addr == nil && d.mother != nil {
		p.addr = d.mother.addr
	}
	if d.kind == "death" {
		p.deathDate = d.deathDate
	}
	return &p
}

// informantPerson returns whoever informs.
func (d *declaration) informantPerson() *person {
	switch {
	case d.informant != nil:
		return d.informant
	case d.informantRel == "MOTHER":
		return d.mother
	case d.informantRel == "FATHER":
		return d.father
	default:
		return d.spouse
	}
}

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *generator) percent(p int) bool { return g.rng.IntN(100) < p }

// middleName is a traditional name of two or three syllables; about one
// person in ten has none, as in OpenCRVS samples (given: ["Toni", ""]).
func (g *generator) middleName() string {
	if g.percent(10) {
		return ""
	}
	n := 2 + g.rng.IntN(2)
	var b strings.Builder
	for i := range n {
		s := g.pick(syllables)
		if i == 0 {
			s = strings.ToUpper(s[:1]) + s[1:]
		}
		b.WriteString(s)
	}
	return b.String()
}

func (g *generator) givenName(gender string) string {
	if gender == "female" {
		return g.pick(femaleGiven)
	}
	return g.pick(maleGiven)
}

func (g *generator) gender() string {
	if g.rng.IntN(2) == 0 {
		return "female"
	}
	return "male"
}

// daysBefore returns the UTC date n days before t's date.
func daysBefore(t time.Time, n int) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d-n, 0, 0, 0, 0, time.UTC)
}

// adult returns a person born between minAge and maxAge years before ref.
func (g *generator) adult(gender, family string, ref time.Time, minAge, maxAge int) *person {
	if family == "" {
		family = g.pick(familyNames)
	}
	age := minAge + g.rng.IntN(maxAge-minAge+1)
	return &person{
		given:     g.givenName(gender),
		middle:    g.middleName(),
		family:    family,
		gender:    gender,
		birthDate: daysBefore(ref, age*365+g.rng.IntN(365)),
	}
}

// birthIdentity draws the names and dates of a birth: a child born within
// the last year, the mother and, usually, the father. It is separate from the
// rest of the record so that tests can check demographic uniqueness quickly.
func (g *generator) birthIdentity(now time.Time) (child, mother, father *person) {
	childDOB := daysBefore(now, g.rng.IntN(365))
	mother = g.adult("female", "", childDOB, 18, 44)
	if g.percent(85) {
		father = g.adult("male", "", childDOB, 19, 54)
	}
	family := mother.family
	if father != nil && g.percent(80) {
		family = father.family
	}
	gender := g.gender()
	child = &person{
		given:     g.givenName(gender),
		middle:    g.middleName(),
		family:    family,
		gender:    gender,
		birthDate: childDOB,
	}
	return child, mother, father
}

// nidSpace is the number of 9-digit bodies that do not start with 0; the
// tenth digit is a Verhoeff check digit, as MOSIP UINs carry.
const (
	nidSpace = 900_000_000
	// nidStride is coprime with nidSpace (not divisible by 2, 3 or 5), so
	// seq*nidStride mod nidSpace visits every body once.
	nidStride = 472_882_049
)

func (g *generator) nid() string {
	body := 100_000_000 + (g.nidSeq*nidStride+g.nidOffset)%nidSpace
	g.nidSeq++
	digits := fmt.Sprintf("%09d", body)
	return digits + string(mosip.VerhoeffDigit(digits))
}

func (g *generator) address(d *districtInfo) *address {
	return &address{
		number:   fmt.Sprint(1 + g.rng.IntN(999)),
		street:   g.pick(streets) + " " + g.pick(streetKinds),
		area:     g.pick(areas),
		district: d,
	}
}

func (g *generator) district() *districtInfo { return &districts[g.rng.IntN(len(districts))] }

// contact draws the informant's e-mail and phone as the Task carries them.
func (g *generator) contact(p *person) (email, phone string) {
	email = fmt.Sprintf("%s.%s%d@example.com", asciiLower(p.given), asciiLower(p.family), g.rng.IntN(100))
	phone = fmt.Sprintf("+2609%d%07d", 5+g.rng.IntN(3), g.rng.IntN(10_000_000))
	return email, phone
}

func asciiLower(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// verification draws the value of a "*.verified" form field: E-Signet
// authentication or IDA verification when authenticated, else a failure or
// no value at all.
func (g *generator) verification(text string, authenticated bool) []qItem {
	switch {
	case authenticated && g.percent(50):
		return []qItem{{text, "authenticated"}}
	case authenticated:
		return []qItem{{text, "verified"}}
	case g.percent(50):
		return []qItem{{text, "failed"}}
	default:
		return nil
	}
}

func (g *generator) birth(now time.Time, authenticated bool) *declaration {
	child, mother, father := g.birthIdentity(now)
	home := g.district()
	mother.nid, mother.addr = g.nid(), g.address(home)
	d := &declaration{kind: "birth", createdAt: now, subject: child, mother: mother, father: father, office: home}
	d.items = append(d.items, qItem{"birth.mother.mother-view-group.motherIdType", "NATIONAL_ID"})
	d.items = append(d.items, g.verification("birth.mother.mother-view-group.verified", authenticated)...)
	if father != nil {
		father.nid, father.addr = g.nid(), mother.addr
		d.items = append(d.items, qItem{"birth.father.father-view-group.fatherIdType", "NATIONAL_ID"})
		d.items = append(d.items, g.verification("birth.father.father-view-group.verified", authenticated)...)
	}
	switch r := g.rng.IntN(100); {
	case r < 80 || (r < 90 && father == nil):
		d.informantRel = "MOTHER"
	case r < 90:
		d.informantRel = "FATHER"
	default:
		d.informantRel = "LEGAL_GUARDIAN"
		d.informant = g.adult(g.gender(), "", now, 25, 70)
		d.informant.nid, d.informant.addr = g.nid(), g.address(home)
		d.items = append(d.items, qItem{"birth.informant.informant-view-group.informantIdType", "NATIONAL_ID"})
		d.items = append(d.items, g.verification("birth.informant.informant-view-group.verified", authenticated)...)
	}
	d.facilityDist = home
	if g.percent(15) {
		d.facilityDist = g.district()
	}
	d.facility = g.pick(d.facilityDist.facilities)
	d.registrar = g.rng.IntN(len(registrars))
	d.email, d.phone = g.contact(d.informantPerson())
	return d
}

func (g *generator) death(now time.Time, authenticated bool) *declaration {
	deathDate := daysBefore(now, g.rng.IntN(30))
	home := g.district()
	gender := g.gender()
	deceased := g.adult(gender, "", deathDate, 25, 94)
	deceased.nid, deceased.addr = g.nid(), g.address(home)
	spouseGender := "female"
	if gender == "female" {
		spouseGender = "male"
	}
	spouse := g.adult(spouseGender, deceased.family, deathDate, 25, 94)
	spouse.nid, spouse.addr = g.nid(), deceased.addr
	d := &declaration{kind: "death", createdAt: now, subject: deceased, spouse: spouse, deathDate: deathDate, office: home}
	d.items = append(d.items,
		qItem{"death.deceased.deceased-view-group.deceasedIdType", "NATIONAL_ID"},
		qItem{"death.spouse.spouse-view-group.spouseIdType", "NATIONAL_ID"})
	d.items = append(d.items, g.verification("death.spouse.spouse-view-group.verified", authenticated)...)
	switch r := g.rng.IntN(100); {
	case r < 70:
		d.informantRel = "SPOUSE"
	case r < 85:
		d.informantRel = "SON"
		d.informant = g.adult("male", deceased.family, now, 18, 60)
	default:
		d.informantRel = "DAUGHTER"
		d.informant = g.adult("female", deceased.family, now, 18, 60)
	}
	if d.informant != nil {
		d.informant.nid, d.informant.addr = g.nid(), g.address(home)
		d.items = append(d.items, qItem{"death.informant.informant-view-group.informantIdType", "NATIONAL_ID"})
	}
	d.items = append(d.items, g.verification("death.informant.informant-view-group.verified", authenticated)...)
	d.facilityDist = home
	d.facility = g.pick(home.facilities)
	d.registrar = g.rng.IntN(len(registrars))
	d.email, d.phone = g.contact(d.informantPerson())
	return d
}

// deathOf declares the death of a known person, the child of a registered
// birth: a young child, so a parent informs and no spouse is declared. The
// death date falls within the last 30 days and not before the birth.
func (g *generator) deathOf(now time.Time, authenticated bool, who *person) *declaration {
	deceased := *who
	if deceased.gender == "" {
		deceased.gender = g.gender()
	}
	back := 30
	if !deceased.birthDate.IsZero() {
		back = min(back, max(0, int(daysBefore(now, 0).Sub(deceased.birthDate).Hours()/24)))
	}
	deathDate := daysBefore(now, g.rng.IntN(back+1))
	home := g.district()
	if deceased.addr != nil {
		home = deceased.addr.district
	} else {
		deceased.addr = g.address(home)
	}
	born := deceased.birthDate
	if born.IsZero() {
		born = deathDate
	}
	rel, gender := "MOTHER", "female"
	if g.percent(20) {
		rel, gender = "FATHER", "male"
	}
	informant := g.adult(gender, deceased.family, born, 18, 44)
	informant.nid, informant.addr = g.nid(), deceased.addr
	d := &declaration{
		kind: "death", createdAt: now, subject: &deceased, deathDate: deathDate, office: home,
		informant: informant, informantRel: rel,
	}
	d.items = append(d.items,
		qItem{"death.deceased.deceased-view-group.deceasedIdType", "NATIONAL_ID"},
		qItem{"death.informant.informant-view-group.informantIdType", "NATIONAL_ID"})
	d.items = append(d.items, g.verification("death.informant.informant-view-group.verified", authenticated)...)
	d.facilityDist = home
	d.facility = g.pick(home.facilities)
	d.registrar = g.rng.IntN(len(registrars))
	d.email, d.phone = g.contact(informant)
	return d
}

// Names of the demographic changes a correction makes, as GET
// /sim/records/{id} lists them.
const (
	changeGivenName = "givenName"
	changeBirthDate = "birthDate"
	changeDeathDate = "deathDate"
)

// correction is what a correction changes; zero fields stay as they are.
type correction struct {
	given                string
	birthDate, deathDate time.Time
}

func (c correction) names() []string {
	out := []string{}
	if c.given != "" {
		out = append(out, changeGivenName)
	}
	if !c.birthDate.IsZero() {
		out = append(out, changeBirthDate)
	}
	if !c.deathDate.IsZero() {
		out = append(out, changeDeathDate)
	}
	return out
}

// correct draws the changes of a correction of p: for a birth the child's
// given name and/or birth date (moved 1 to 3 days earlier), for a death the
// date of death (earlier, never before the birth; or a day later when it is
// the birth date and before today) and/or the deceased's given name. At
// least one thing changes.
func (g *generator) correct(kind string, p *person, now time.Time) correction {
	var c correction
	which := g.rng.IntN(3) // 0: the date, 1: the name, 2: both
	if kind == KindBirth {
		if which != 1 && !p.birthDate.IsZero() {
			c.birthDate = p.birthDate.AddDate(0, 0, -1-g.rng.IntN(3))
		}
	} else if which != 1 && !p.deathDate.IsZero() {
		room := 3
		if !p.birthDate.IsZero() {
			room = min(room, int(p.deathDate.Sub(p.birthDate).Hours()/24))
		}
		switch {
		case room > 0:
			c.deathDate = p.deathDate.AddDate(0, 0, -1-g.rng.IntN(room))
		case p.deathDate.Before(daysBefore(now, 0)):
			c.deathDate = p.deathDate.AddDate(0, 0, 1)
		}
	}
	if which != 0 || (c.birthDate.IsZero() && c.deathDate.IsZero()) {
		gender := p.gender
		if gender != "male" && gender != "female" {
			gender = g.gender()
		}
		for range 32 { // 100+ names per gender: a repeat is rare
			if n := g.givenName(gender); n != p.given {
				c.given = n
				break
			}
		}
	}
	return c
}

// ---- ids ----

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return formatUUID(b, 4)
}

// stableUUID returns a name-based (version 5 style) UUID, so that
// Locations and Practitioners keep their ids across simulator restarts, as
// they do in a real OpenCRVS.
func stableUUID(name string) string {
	sum := sha1.Sum([]byte("opencrvssim:" + name))
	var b [16]byte
	copy(b[:], sum[:16])
	return formatUUID(b, 5)
}

func formatUUID(b [16]byte, version byte) string {
	b[6] = b[6]&0x0f | version<<4
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// userID returns a Mongo-object-id-like user id (24 hex digits), the shape of
// OpenCRVS user ids and thus of the sub claim.
func userID(username string) string {
	sum := sha1.Sum([]byte("opencrvssim:user:" + username))
	return hex.EncodeToString(sum[:12])
}

const trackingAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// randomTrackingID returns an OpenCRVS-style tracking id: B or D and six
// uppercase alphanumerics.
func randomTrackingID(kind string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 7)
	out[0] = 'B'
	if kind == "death" {
		out[0] = 'D'
	}
	for i, c := range b {
		// 256 % 36 = 4: the bias is below 2% per character and harmless for ids.
		out[i+1] = trackingAlphabet[int(c)%len(trackingAlphabet)]
	}
	return string(out)
}
