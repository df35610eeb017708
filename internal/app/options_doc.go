package app

import (
	"fmt"
	"io"
	"strings"
)

// The configuration is documented from the options table, so that the
// documents cannot drift from the code: the README's table (PrintOptions),
// docs/configuration.md (WriteOptionsMarkdown) and the Compose env file
// deploy/compose/mediator.env.example (WriteEnvExample). Tests compare each
// with what these functions write; UPDATE_README=1 rewrites them.

// OptionNames lists every environment variable `serve` reads, in the
// table's order, each secret followed by its NAME_FILE variant.
func OptionNames() []string {
	var names []string
	for _, o := range options {
		names = append(names, o.name)
		if o.secret {
			names = append(names, o.name+"_FILE")
		}
	}
	return names
}

// RequiredOptions lists the variables `serve` cannot start without in the
// default role, direct (a secret may come from its NAME_FILE instead).
func RequiredOptions() []string {
	var names []string
	for _, o := range options {
		if o.requiredFor(RoleDirect) {
			names = append(names, o.name)
		}
	}
	return names
}

// requiredNote says where o is required: "required", or "required
// (opencrvs-side, mosip-side)" for an option of some roles only.
func (o option) requiredNote() string {
	if o.requiredIn == nil {
		return "required"
	}
	return "required (" + strings.Join(o.requiredIn, ", ") + ")"
}

// SecretOptions lists the variables that hold secrets.
func SecretOptions() []string {
	var names []string
	for _, o := range options {
		if o.secret {
			names = append(names, o.name)
		}
	}
	return names
}

// WriteOptionsMarkdown writes the options as a Markdown table: variable,
// default, required or secret, description.
func WriteOptionsMarkdown(w io.Writer) {
	fmt.Fprintln(w, "| Variable | Default | Notes | Description |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, o := range options {
		def := "`" + o.def + "`"
		if o.def == "" {
			def = ""
		}
		var kind []string
		if o.required {
			kind = append(kind, o.requiredNote())
		}
		if o.secret {
			kind = append(kind, "secret, or `"+o.name+"_FILE`")
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", o.name, mdCell(def), strings.Join(kind, "; "), mdCell(o.help))
	}
}

// mdCell escapes what would end a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

// WriteEnvExample writes an env file (Compose env_file, systemd
// EnvironmentFile) that documents every option: required ones as empty
// assignments to fill in, the others commented out at their default.
func WriteEnvExample(w io.Writer) {
	fmt.Fprint(w, `# opencrvs-mosip mediator: every environment variable of `+"`serve`"+`.
#
# Generated from the options table (internal/app/config.go); do not edit by
# hand: after changing options run
#   UPDATE_README=1 go test ./internal/app -run README
# docs/configuration.md explains each one.
#
# Copy to mediator.env, fill in the required values, keep it private.
# Required variables are the uncommented ones; a commented-out variable takes
# the default shown. A secret NAME can be a file instead: leave NAME empty and
# set NAME_FILE to the file's path (for example under /run/secrets/).
`)
	for _, o := range options {
		fmt.Fprintln(w)
		var notes []string
		if o.required {
			notes = append(notes, o.requiredNote())
		}
		if o.secret {
			notes = append(notes, "secret, or "+o.name+"_FILE")
		}
		head := "# " + o.name
		if len(notes) > 0 {
			head += " (" + strings.Join(notes, "; ") + ")"
		}
		fmt.Fprintln(w, head)
		for _, line := range wrap(o.help, 76) {
			fmt.Fprintln(w, "#   "+line)
		}
		if o.requiredFor(RoleDirect) {
			fmt.Fprintf(w, "%s=%s\n", o.name, o.def)
		} else {
			fmt.Fprintf(w, "#%s=%s\n", o.name, o.def)
		}
	}
}

// wrap breaks s into lines of at most width runes at spaces (a longer word
// stays whole).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
