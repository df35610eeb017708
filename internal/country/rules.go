package country

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"opencrvs-mosip/internal/bridge"
)

// ruleEnv is what a forwarding rule sees. It is a typed struct so that a
// misspelt name fails when the file is loaded, not on the first record.
// Persons are values, never nil: a missing mother is a person with
// present == false and empty fields.
type ruleEnv struct {
	Event              string            `expr:"event"`
	RecordID           string            `expr:"recordId"`
	TrackingID         string            `expr:"trackingId"`
	RegistrationNumber string            `expr:"registrationNumber"`
	Status             string            `expr:"status"`
	Child              rulePerson        `expr:"child"`
	Mother             rulePerson        `expr:"mother"`
	Father             rulePerson        `expr:"father"`
	Informant          rulePerson        `expr:"informant"`
	Deceased           rulePerson        `expr:"deceased"`
	Spouse             rulePerson        `expr:"spouse"`
	Contact            ruleContact       `expr:"contact"`
	PlaceOfEvent       rulePlace         `expr:"placeOfEvent"`
	Answers            map[string]string `expr:"answers"`
	Vars               map[string]string `expr:"vars"`
	// Today is the date in the configured time zone (YYYY-MM-DD).
	Today string `expr:"today"`

	AgeInYears   func(date string) (int, error)     `expr:"ageInYears"`
	YearsBetween func(from, to string) (int, error) `expr:"yearsBetween"`
}

type rulePerson struct {
	Present       bool             `expr:"present"`
	Name          ruleName         `expr:"name"`
	BirthDate     string           `expr:"birthDate"`
	DeathDate     string           `expr:"deathDate"`
	Gender        string           `expr:"gender"`
	NationalID    string           `expr:"nationalId"`
	Identifiers   []ruleIdentifier `expr:"identifiers"`
	Nationality   string           `expr:"nationality"`
	Verification  string           `expr:"verification"`
	Authenticated bool             `expr:"authenticated"`
	// Relationship is set for the informant only (MOTHER, SPOUSE, ...).
	Relationship string `expr:"relationship"`
}

type ruleName struct {
	Given  []string `expr:"given"`
	Family string   `expr:"family"`
	Full   string   `expr:"full"`
}

type ruleIdentifier struct {
	Type  string `expr:"type"`
	Value string `expr:"value"`
}

type ruleContact struct {
	Email string `expr:"email"`
	Phone string `expr:"phone"`
}

type rulePlace struct {
	Present bool   `expr:"present"`
	ID      string `expr:"id"`
	Name    string `expr:"name"`
	Type    string `expr:"type"`
}

// rule is a compiled forwarding rule and the parts its reason reports.
type rule struct {
	path    string // "birth.forward"
	source  string
	program *vm.Program
	// atoms are the conditions joined by and/or/not, reported one by one.
	atoms []atom
}

type atom struct {
	text    string
	program *vm.Program
	// operands are the non-constant numbers compared (shown with their
	// value: "ageInYears(child.birthDate) = 3").
	operands []operand
}

type operand struct {
	text    string
	program *vm.Program
}

// ruleOptions compile rules against ruleEnv. expr's now() is disabled: it
// would read the machine clock in the machine's zone, while rules must use
// the evaluation time in the configured zone (today, ageInYears).
func ruleOptions(extra ...expr.Option) []expr.Option {
	return append([]expr.Option{expr.Env(ruleEnv{}), expr.DisableBuiltin("now")}, extra...)
}

func (l *loader) compileRule(path, src string) *rule {
	program, err := expr.Compile(src, ruleOptions(expr.AsBool())...)
	if err != nil {
		l.exprError(path, err)
		return nil
	}
	r := &rule{path: path, source: strings.Join(strings.Fields(src), " "), program: program}
	tree, err := parser.Parse(src)
	if err != nil {
		l.exprError(path, err)
		return nil
	}
	seen := map[string]bool{}
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		switch x := n.(type) {
		case *ast.BinaryNode:
			switch x.Operator {
			case "&&", "||", "and", "or":
				walk(x.Left)
				walk(x.Right)
				return
			}
		case *ast.UnaryNode:
			if x.Operator == "!" || x.Operator == "not" {
				walk(x.Node)
				return
			}
		case *ast.BoolNode:
			return // a literal says nothing about the record
		}
		text := n.String()
		if seen[text] {
			return
		}
		seen[text] = true
		a := atom{text: text}
		if a.program, err = expr.Compile(text, ruleOptions()...); err != nil {
			l.exprError(path, err)
			return
		}
		if b, ok := n.(*ast.BinaryNode); ok && isComparison(b.Operator) {
			for _, side := range []ast.Node{b.Left, b.Right} {
				if isLiteral(side) {
					continue
				}
				p, err := expr.Compile(side.String(), ruleOptions()...)
				if err != nil {
					continue
				}
				a.operands = append(a.operands, operand{text: side.String(), program: p})
			}
		}
		r.atoms = append(r.atoms, a)
	}
	walk(tree.Node)
	return r
}

func isComparison(op string) bool {
	switch op {
	case "<", "<=", ">", ">=", "==", "!=":
		return true
	}
	return false
}

func isLiteral(n ast.Node) bool {
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode, *ast.NilNode, *ast.ConstantNode:
		return true
	}
	return false
}

func (l *loader) exprError(path string, err error) {
	le := &LoadError{File: l.name, Line: l.line(path), Path: path, Msg: err.Error()}
	var fe *file.Error
	if errors.As(err, &fe) {
		le.Msg = fe.Message
		if fe.Line > 0 {
			le.Line = l.sourceLine(path, fe.Line)
			le.Msg = fmt.Sprintf("%s (rule line %d, column %d)", fe.Message, fe.Line, fe.Column+1)
		}
	}
	switch {
	case strings.Contains(le.Msg, "expected bool"):
		le.Msg += ": a rule must be true or false"
	case strings.HasPrefix(le.Msg, "unknown name now "):
		le.Msg += "; use today or ageInYears, which follow timeZone"
	}
	l.errs = append(l.errs, le)
}

// decide runs the rule and explains the result. The reason shows which
// conditions held and the numbers compared, never a text value, so it is
// safe to log and to show to operators.
func (r *rule) decide(env *ruleEnv) (bool, string, error) {
	out, err := expr.Run(r.program, env)
	if err != nil {
		return false, "", &bridge.Error{Code: bridge.EInvalid, Field: r.path,
			Message: "the forwarding rule failed: " + runtimeMessage(err), Err: err}
	}
	forward, ok := out.(bool)
	if !ok {
		return false, "", bridge.FieldErrorf(bridge.EInvalid, r.path, "the forwarding rule gave %T, want a boolean", out)
	}
	var b strings.Builder
	b.WriteString(r.path)
	if forward {
		b.WriteString(" is true")
	} else {
		b.WriteString(" is false")
	}
	if len(r.atoms) == 0 {
		b.WriteString(" (a constant rule)")
		return forward, b.String(), nil
	}
	b.WriteString(": ")
	for i, a := range r.atoms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.text)
		v, err := expr.Run(a.program, env)
		switch {
		case err != nil:
			b.WriteString(" could not be evaluated (")
			b.WriteString(runtimeMessage(err))
			b.WriteString(")")
		case v == true:
			b.WriteString(" is true")
		case v == false:
			b.WriteString(" is false")
		default:
			b.WriteString(" is not a boolean")
		}
		var shown []string
		for _, o := range a.operands {
			if n, ok := number(o.program, env); ok {
				shown = append(shown, o.text+" = "+n)
			}
		}
		if len(shown) > 0 {
			b.WriteString(" (")
			b.WriteString(strings.Join(shown, ", "))
			b.WriteString(")")
		}
	}
	return forward, b.String(), nil
}

func number(p *vm.Program, env *ruleEnv) (string, bool) {
	v, err := expr.Run(p, env)
	if err != nil {
		return "", false
	}
	switch n := v.(type) {
	case int:
		return strconv.Itoa(n), true
	case int64:
		return strconv.FormatInt(n, 10), true
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64), true
	}
	return "", false
}

// runtimeMessage is the first line of an expr error, without the source
// snippet.
func runtimeMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// newRuleEnv builds the rule input of a record. today is the date at the
// configured time zone.
func newRuleEnv(rec *bridge.Record, vars map[string]string, today time.Time) *ruleEnv {
	env := &ruleEnv{
		Event:              string(rec.Event),
		RecordID:           rec.RecordID,
		TrackingID:         rec.TrackingID,
		RegistrationNumber: rec.RegistrationNumber,
		Status:             rec.Status,
		Child:              rulePersonOf(rec.Child, ""),
		Mother:             rulePersonOf(rec.Mother, ""),
		Father:             rulePersonOf(rec.Father, ""),
		Deceased:           rulePersonOf(rec.Deceased, ""),
		Spouse:             rulePersonOf(rec.Spouse, ""),
		Contact:            ruleContact{Email: rec.Contact.Email, Phone: rec.Contact.Phone},
		Answers:            rec.Answers,
		Vars:               vars,
		Today:              today.Format(time.DateOnly),
		YearsBetween:       yearsBetween,
	}
	if rec.Informant != nil {
		env.Informant = rulePersonOf(&rec.Informant.Person, rec.Informant.Relationship)
	}
	if p := rec.PlaceOfEvent; p != nil {
		env.PlaceOfEvent = rulePlace{Present: true, ID: p.ID, Name: p.Name, Type: p.Type}
	}
	env.AgeInYears = func(date string) (int, error) {
		born, err := parseDate("ageInYears", date)
		if err != nil {
			return 0, err
		}
		return fullYears(born, today), nil
	}
	return env
}

func rulePersonOf(p *bridge.Person, relationship string) rulePerson {
	if p == nil {
		return rulePerson{}
	}
	rp := rulePerson{
		Present:       true,
		Name:          ruleName{Given: p.Name.Given, Family: p.Name.Family, Full: p.Name.Full},
		BirthDate:     p.BirthDate,
		DeathDate:     p.DeathDate,
		Gender:        p.Gender,
		NationalID:    p.NationalID,
		Nationality:   p.Nationality,
		Verification:  p.Verification,
		Authenticated: p.Authenticated,
		Relationship:  relationship,
	}
	if len(p.Identifiers) > 0 {
		rp.Identifiers = make([]ruleIdentifier, len(p.Identifiers))
		for i, id := range p.Identifiers {
			rp.Identifiers[i] = ruleIdentifier{Type: id.Type, Value: id.Value}
		}
	}
	return rp
}

// yearsBetween is the number of whole years from one date to another, e.g.
// the age at death: yearsBetween(deceased.birthDate, deceased.deathDate).
func yearsBetween(from, to string) (int, error) {
	a, err := parseDate("yearsBetween", from)
	if err != nil {
		return 0, err
	}
	b, err := parseDate("yearsBetween", to)
	if err != nil {
		return 0, err
	}
	return fullYears(a, b), nil
}

// fullYears counts whole years from born to at. Someone born on 29 February
// has a birthday on 1 March in common years (as date-fns differenceInYears,
// which the OpenCRVS reference rules use).
func fullYears(born, at time.Time) int {
	years := at.Year() - born.Year()
	if at.Month() < born.Month() || (at.Month() == born.Month() && at.Day() < born.Day()) {
		years--
	}
	return years
}

// parseDate reads YYYY-MM-DD. Its errors never repeat the value: it is
// often a date of birth.
func parseDate(fn, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("%s: the date is empty", fn)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: the date is not YYYY-MM-DD", fn)
	}
	return t, nil
}
