package addin

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Signature is what a sender's name, address and e-mail signature say about
// them. ParseSignature fills what it can recognise and leaves the rest
// empty; it never guesses from free text it cannot place.
type Signature struct {
	FirstName  string `json:"firstName,omitempty"`
	LastName   string `json:"lastName,omitempty"`
	Email      string `json:"email,omitempty"`
	Title      string `json:"title,omitempty"`
	Company    string `json:"company,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Mobile     string `json:"mobile,omitempty"`
	Website    string `json:"website,omitempty"`
	Street     string `json:"street,omitempty"`
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
}

// maxSignatureLines bounds the lines examined: a signature is short, and
// whatever follows is a quoted reply or a disclaimer.
const maxSignatureLines = 25

// ParseSignature proposes a person's details from an e-mail's sender name
// and address and the plain text of its signature (or of its last part).
// It is deterministic and does no I/O. The rules, in order:
//   - the signature starts after the first sign-off line ("Best regards",
//     "Mit freundlichen Grüßen", "Cordialement", …) or the "-- " delimiter,
//     and ends at a quoted reply, a disclaimer or a legal footer;
//   - lines are split into segments at "|", "·" and "•";
//   - a segment is an e-mail address (skipped), labelled phone numbers
//     ("T", "Tel.", "Mobile", "Handy", "Tél.", "Móvil"…; fax is skipped), an
//     unlabelled phone number, a website, a country, a postal address line,
//     the sender's name, a company (legal form such as GmbH, Inc., S.A.,
//     B.V.) or a job title (keywords in several languages);
//   - the first one or two unplaced segments right after the name line
//     become the title and then the company;
//   - the company falls back to the website's or the address's domain
//     (never a free-mail domain).
func ParseSignature(name, address, text string) Signature {
	name, address, text = strings.ToValidUTF8(name, ""), strings.ToValidUTF8(address, ""), strings.ToValidUTF8(text, "")
	var s Signature
	s.Email = strings.ToLower(strings.TrimSpace(address))
	s.FirstName, s.LastName = splitName(name)
	segs := segments(signatureLines(text))
	if s.LastName == "" {
		for _, seg := range segs {
			if looksLikeName(seg) {
				s.FirstName, s.LastName = splitName(seg)
				break
			}
		}
	}
	if s.LastName == "" {
		s.FirstName, s.LastName = nameFromAddress(s.Email)
	}
	nameAt := -1
	var left []int // indexes of unplaced segments
	for i, seg := range segs {
		switch {
		case strings.Contains(seg, "@"):
			continue
		case s.phones(seg):
			continue
		case s.website(seg):
			continue
		case s.country(seg):
			continue
		case s.address(seg):
			continue
		case nameAt < 0 && isNameLine(seg, s.FirstName, s.LastName):
			nameAt = i
			continue
		case s.titleAndCompany(seg):
			continue
		case s.Company == "" && hasLegalForm(seg):
			s.Company = seg
			continue
		case s.Title == "" && hasTitleWord(seg):
			s.Title = seg
			continue
		}
		left = append(left, i)
	}
	if nameAt >= 0 {
		for _, i := range left {
			if i > nameAt+3 {
				break
			}
			seg := segs[i]
			if utf8.RuneCountInString(seg) > 60 || !strings.ContainsFunc(seg, unicode.IsLetter) {
				continue
			}
			switch {
			case s.Title == "":
				s.Title = seg
			case s.Company == "":
				s.Company = seg
			}
		}
	}
	if s.Company == "" {
		s.Company = companyFromDomain(s.Website, s.Email)
	}
	return s
}

// signOffs open the signature; compared lower case without trailing
// punctuation.
var signOffs = []string{
	"best regards", "kind regards", "warm regards", "regards", "best wishes", "best", "thanks", "thank you",
	"many thanks", "cheers", "sincerely", "yours sincerely", "yours faithfully", "all the best",
	"mit freundlichen grüßen", "mit freundlichen grüssen", "freundliche grüße", "freundliche grüsse",
	"viele grüße", "viele grüsse", "beste grüße", "liebe grüße", "herzliche grüße", "gruß", "grüße", "mfg",
	"cordialement", "bien cordialement", "bien à vous", "salutations", "meilleures salutations",
	"sincères salutations", "saludos", "un saludo", "saludos cordiales", "atentamente", "un cordial saludo",
	"cordiali saluti", "distinti saluti", "saluti", "met vriendelijke groet", "met vriendelijke groeten",
	"vriendelijke groet", "groeten", "med vänliga hälsningar", "vänliga hälsningar", "hälsningar",
	"atenciosamente", "abraços", "mvh", "venlig hilsen", "med venlig hilsen",
}

// stopPrefixes end the signature: quoted replies, disclaimers and legal
// footers (whose names are directors, not the sender).
var stopPrefixes = []string{
	">", "from:", "von:", "de :", "de:", "sent:", "gesendet:", "envoyé :", "-----original message",
	"-----ursprüngliche nachricht", "-----message d'origine", "________________", "this e-mail", "this email",
	"this message", "the information contained", "diese e-mail", "diese nachricht", "ce message", "ce courriel",
	"este correo", "este mensaje", "questo messaggio", "deze e-mail", "dit bericht", "confidential",
	"disclaimer", "please consider the environment", "sent from my", "gesendet von meinem", "envoyé de mon",
	"enviado desde mi", "inviato da", "il giorno ", "el día ", "registered office", "registered in", "sitz der gesellschaft",
	"handelsregister", "amtsgericht", "registergericht", "geschäftsführer:", "geschäftsführung:", "vorstand:",
	"ust-idnr", "vat no", "vat number", "company number", "siret", "rcs ", "cif:", "p.iva", "kvk",
}

// signatureLines returns the trimmed, non-empty lines of the signature part
// of text.
func signatureLines(text string) []string {
	raw := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	start := 0
	for i, line := range raw {
		if strings.TrimRight(line, " \t") == "--" {
			start = i + 1
			break
		}
		if rest, ok := signOff(line); ok {
			start = i + 1
			if rest != "" {
				raw[i] = rest
				start = i
			}
			break
		}
	}
	var out []string
	for _, line := range raw[start:] {
		line = strings.TrimSpace(strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) {
				return ' '
			}
			return r
		}, line))
		if line == "" {
			continue
		}
		lower := strings.ToLower(line)
		if slices.ContainsFunc(stopPrefixes, func(p string) bool { return strings.HasPrefix(lower, p) }) ||
			(strings.HasPrefix(lower, "on ") && strings.HasSuffix(lower, "wrote:")) ||
			(strings.HasPrefix(lower, "am ") && strings.HasSuffix(lower, "schrieb:")) ||
			(strings.HasPrefix(lower, "le ") && strings.HasSuffix(lower, "a écrit :")) {
			break
		}
		out = append(out, line)
		if len(out) == maxSignatureLines {
			break
		}
	}
	return out
}

// signOff reports whether line is a sign-off, and any text after it on the
// same line ("Best regards, Jane Doe" → "Jane Doe").
func signOff(line string) (rest string, ok bool) {
	l := strings.ToLower(strings.TrimSpace(line))
	for _, so := range signOffs {
		if !strings.HasPrefix(l, so) {
			continue
		}
		after := l[len(so):]
		trimmed := strings.TrimLeft(after, ",.!; ")
		if trimmed == "" {
			return "", true
		}
		if after[0] == ',' {
			// Keep the original case of the rest: sign-offs hold no comma,
			// so the line's first comma is the one after the sign-off.
			i := strings.IndexByte(line, ',')
			return strings.TrimSpace(line[i+1:]), true
		}
	}
	return "", false
}

var segmentSep = regexp.MustCompile(`\s*[|·•]\s*`)

// maxSegments bounds the segments examined, so a pathological signature
// (one long line of separators) costs no more than a real one.
const maxSegments = 60

// segments splits lines at "|", "·" and "•".
func segments(lines []string) []string {
	var out []string
	for _, line := range lines {
		for _, seg := range segmentSep.Split(line, maxSegments+1) {
			seg = strings.Trim(seg, " ,;")
			if seg != "" {
				out = append(out, seg)
			}
			if len(out) == maxSegments {
				return out
			}
		}
	}
	return out
}

// phoneLabel finds labelled numbers: a label, an optional dot or colon, and a
// number of at least 7 characters.
var phoneLabel = regexp.MustCompile(`(?i)(?:^|[\s,;(])(tel(?:ephone|éfono|efono|efon|éphone)?|tél|phone|ph|fon|office|direct|dir|work|main|t|p|o|d|w|mobile|mob|mobil|cell(?:phone)?|cel|handy|portable|port|móvil|movil|cellulare|celular|gsm|m|fax|f)\.?\s*[.:]?\s*(\+?\(?\d[\d\s().\-/]{5,}\d)`)

// barePhone is a segment that is only a phone number.
var barePhone = regexp.MustCompile(`^\+?\(?\d[\d\s().\-/]{5,}\d$`)

// phones places the numbers of a phone segment; false when seg holds none.
func (s *Signature) phones(seg string) bool {
	if barePhone.MatchString(seg) && digits(seg) >= 7 && digits(seg) <= 15 {
		s.setPhone("", seg)
		return true
	}
	ms := phoneLabel.FindAllStringSubmatch(seg, -1)
	found := false
	for _, m := range ms {
		if n := digits(m[2]); n < 7 || n > 15 {
			continue
		}
		found = true
		s.setPhone(strings.ToLower(m[1]), m[2])
	}
	return found
}

func (s *Signature) setPhone(label, number string) {
	number = strings.Join(strings.Fields(number), " ")
	switch label {
	case "fax", "f":
	case "mobile", "mob", "mobil", "cell", "cellphone", "cel", "handy", "portable", "port", "móvil", "movil",
		"cellulare", "celular", "gsm", "m":
		if s.Mobile == "" {
			s.Mobile = number
		}
	case "":
		if s.Phone == "" {
			s.Phone = number
		} else if s.Mobile == "" {
			s.Mobile = number
		}
	default:
		if s.Phone == "" {
			s.Phone = number
		}
	}
}

func digits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

var websiteRE = regexp.MustCompile(`(?i)^(?:(?:web(?:site)?|url|internet|homepage|site)\s*[.:]\s*)?((?:https?://)?(?:[a-z0-9][a-z0-9-]*\.)+[a-z]{2,}(?:/\S*)?)$`)

func (s *Signature) website(seg string) bool {
	m := websiteRE.FindStringSubmatch(seg)
	if m == nil {
		return false
	}
	host := strings.ToLower(m[1])
	host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
	// A bare "Acme.Inc"-like word with a short pseudo-TLD is not a site
	// unless it says www or has a scheme; require a known shape.
	if !strings.Contains(strings.ToLower(m[0]), "www") && !strings.Contains(m[1], "://") && !plausibleTLD(host) {
		return false
	}
	if s.Website == "" {
		s.Website = m[1]
	}
	return true
}

// plausibleTLD accepts the common top-level domains of business sites.
func plausibleTLD(host string) bool {
	host, _, _ = strings.Cut(host, "/")
	i := strings.LastIndex(host, ".")
	if i < 0 {
		return false
	}
	switch host[i+1:] {
	case "com", "net", "org", "io", "co", "biz", "info", "eu", "de", "at", "ch", "fr", "be", "nl", "lu", "es",
		"it", "pt", "uk", "ie", "se", "no", "dk", "fi", "pl", "cz", "us", "ca", "au", "nz", "br", "mx", "jp",
		"in", "ai", "app", "dev", "tech", "cloud", "solutions", "consulting", "group", "global":
		return true
	}
	return false
}

// countries maps spellings to one English name.
var countries = map[string]string{
	"germany": "Germany", "deutschland": "Germany", "france": "France", "usa": "United States",
	"u.s.a.": "United States", "united states": "United States", "united states of america": "United States",
	"uk": "United Kingdom", "u.k.": "United Kingdom", "united kingdom": "United Kingdom", "england": "United Kingdom",
	"great britain": "United Kingdom", "spain": "Spain", "españa": "Spain", "italy": "Italy", "italia": "Italy",
	"netherlands": "Netherlands", "the netherlands": "Netherlands", "nederland": "Netherlands",
	"austria": "Austria", "österreich": "Austria", "switzerland": "Switzerland", "schweiz": "Switzerland",
	"suisse": "Switzerland", "svizzera": "Switzerland", "belgium": "Belgium", "belgique": "Belgium",
	"belgië": "Belgium", "sweden": "Sweden", "sverige": "Sweden", "canada": "Canada", "portugal": "Portugal",
	"ireland": "Ireland", "poland": "Poland", "polska": "Poland", "denmark": "Denmark", "danmark": "Denmark",
	"norway": "Norway", "norge": "Norway", "finland": "Finland", "suomi": "Finland", "brazil": "Brazil",
	"brasil": "Brazil", "mexico": "Mexico", "méxico": "Mexico", "australia": "Australia", "japan": "Japan",
	"india": "India", "luxembourg": "Luxembourg",
}

func (s *Signature) country(seg string) bool {
	c, ok := countries[strings.ToLower(strings.TrimSpace(seg))]
	if ok && s.Country == "" {
		s.Country = c
	}
	return ok
}

var (
	// usCity: "Springfield, IL 62701" (and Canada's "Toronto, ON M5V 2T6").
	usCity = regexp.MustCompile(`^(\p{L}[\p{L} .'-]*),\s*([A-Z]{2})\s+(\d{5}(?:-\d{4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d)$`)
	// euCity: "80331 München", "D-80331 München", "75008 Paris", "1011 AB Amsterdam", "8001 Zürich".
	euCity = regexp.MustCompile(`^(?:[A-Z]{1,2}-)?(\d{4,5}(?: ?[A-Z]{2})?)\s+(\p{Lu}[\p{L} .'()-]*)$`)
	// ukCity: "London EC1A 1BB", "London, SW1A 1AA".
	ukCity = regexp.MustCompile(`^(\p{L}[\p{L} .'-]*?),?\s+([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})$`)
	// street: a number and a street word in English, German, Dutch,
	// Scandinavian, French, Spanish, Italian or Portuguese order.
	street = regexp.MustCompile(`(?i)^(?:\d+[a-z]?,?\s+\p{L}.*\b(?:street|st\.?|avenue|ave\.?|road|rd\.?|boulevard|blvd\.?|lane|ln\.?|drive|dr\.?|way|court|ct\.?|place|pl\.?|square|parkway|pkwy\.?|highway|hwy\.?|rue|avenue|av\.?|bd|chemin|allée|quai|impasse)\b.*|\d+,?\s+(?:bis\s+|ter\s+)?(?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|quai|impasse|cours)\b.*|\p{L}[\p{L}.'-]*(?:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm|ufer|laan|straat|gracht|plein|kade|vej|gade|gatan|vägen|veien)\s*\d+\s*[a-z]?(?:\s*[-/]\s*\d+\s*[a-z]?)?|(?:calle|c/|avenida|avda\.?|paseo|plaza|pza\.?|ronda|via|viale|piazza|corso|largo|rua|travessa)\s+.*\d.*|\p{L}[\p{L} .'-]*\s(?:straße|strasse|str\.|weg|platz|allee)\s*\d+.*)$`)
)

// address places an address segment, or a comma-separated line of parts
// ("Hauptstraße 5, 80331 München, Germany"); false when it is not one.
func (s *Signature) address(seg string) bool {
	if m := usCity.FindStringSubmatch(seg); m != nil {
		s.setCity(m[1], m[2], m[3])
		return true
	}
	parts := strings.Split(seg, ",")
	placed := make([]bool, len(parts))
	any := false
	for i, p := range parts {
		p = strings.TrimSpace(p)
		switch {
		case street.MatchString(p):
			if s.Street == "" {
				s.Street = p
			}
		case euCity.MatchString(p):
			m := euCity.FindStringSubmatch(p)
			s.setCity(m[2], "", m[1])
		case ukCity.MatchString(p):
			m := ukCity.FindStringSubmatch(p)
			s.setCity(m[1], "", m[2])
		default:
			continue
		}
		placed[i], any = true, true
	}
	if !any {
		return false
	}
	for i, p := range parts {
		if !placed[i] {
			p = strings.TrimSpace(p)
			if !s.country(p) && len(parts) == 3 && i == 1 && s.City == "" {
				s.City = p // "1 Main Street, Springfield, IL 62701" split oddly
			}
		}
	}
	return true
}

func (s *Signature) setCity(city, state, postal string) {
	if s.City != "" {
		return
	}
	s.City, s.State, s.PostalCode = strings.TrimSpace(city), state, postal
}

// honorifics are dropped from names.
var honorifics = []string{
	"mr", "mrs", "ms", "miss", "dr", "prof", "herr", "frau", "m", "mme", "mlle", "sr", "sra", "srta", "dott",
	"dott.ssa", "ing", "dipl.-ing", "dipl-ing", "mag", "sig", "sig.ra", "dhr", "mevr",
}

// nameSuffixes are degrees and generational suffixes dropped from names.
var nameSuffixes = []string{"phd", "ph.d", "mba", "msc", "bsc", "md", "jr", "sr", "ii", "iii", "cpa", "pmp", "esq"}

// particles start a family name ("van der Berg", "de la Cruz", "von Weber").
var particles = []string{"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "del", "della", "dos", "das", "ten", "ter", "zu", "mac"}

// nameWords returns a display name's words without honorifics, degrees,
// parenthesised or "|"-separated additions.
func nameWords(name string) []string {
	if i := strings.IndexAny(name, "(|<["); i >= 0 {
		name = name[:i]
	}
	name = strings.Trim(strings.TrimSpace(name), `"'`)
	var words []string
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == ',' }) {
		k := strings.ToLower(strings.TrimSuffix(w, "."))
		if slices.Contains(honorifics, k) || slices.Contains(nameSuffixes, k) {
			continue
		}
		words = append(words, w)
	}
	return words
}

// splitName splits a display name into first and last name: "Doe, Jane",
// "Jane Doe", "Jan van der Berg", "DUPONT Jean" (a family name in capitals
// comes first in French and other formal styles).
func splitName(name string) (first, last string) {
	if before, after, ok := strings.Cut(name, ","); ok && !strings.ContainsAny(before, " ") && strings.TrimSpace(after) != "" {
		rest := nameWords(after)
		if len(rest) > 0 && !slices.Contains(nameSuffixes, strings.ToLower(strings.Trim(after, " ."))) {
			return strings.Join(rest, " "), strings.TrimSpace(before)
		}
	}
	words := nameWords(name)
	switch len(words) {
	case 0:
		return "", ""
	case 1:
		return "", words[0]
	}
	// A family name written in capitals, with a given name that is not.
	for i, w := range words {
		if isUpperWord(w) && !isUpperWord(words[(i+1)%len(words)]) {
			rest := slices.Delete(slices.Clone(words), i, i+1)
			return strings.Join(rest, " "), w
		}
	}
	for i := 1; i < len(words)-1; i++ {
		if slices.Contains(particles, strings.ToLower(words[i])) {
			return strings.Join(words[:i], " "), strings.Join(words[i:], " ")
		}
	}
	return words[0], strings.Join(words[1:], " ")
}

func isUpperWord(w string) bool {
	letters := 0
	for _, r := range w {
		if unicode.IsLetter(r) {
			letters++
			if !unicode.IsUpper(r) {
				return false
			}
		}
	}
	return letters > 1
}

// nameFromAddress makes a name from "jane.doe@acme.com".
func nameFromAddress(addr string) (first, last string) {
	local, _, ok := strings.Cut(addr, "@")
	if !ok {
		return "", ""
	}
	local, _, _ = strings.Cut(local, "+")
	parts := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	for i, p := range parts {
		if digits(p) > 0 {
			return "", ""
		}
		parts[i] = capitalize(p)
	}
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return "", parts[0]
	}
	return parts[0], strings.Join(parts[1:], " ")
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// isNameLine reports whether seg is the sender's name.
func isNameLine(seg, first, last string) bool {
	if last == "" {
		return false
	}
	words := strings.ToLower(strings.Join(nameWords(seg), " "))
	if !strings.Contains(words, strings.ToLower(last)) {
		return false
	}
	return first == "" || strings.Contains(words, strings.ToLower(first)) ||
		// "J. Doe" or just the family name with an initial.
		strings.HasPrefix(words, strings.ToLower(first[:1])+".")
}

// looksLikeName accepts 2–4 capitalised words of letters, none a title word
// or legal form.
func looksLikeName(seg string) bool {
	words := nameWords(seg)
	if len(words) < 2 || len(words) > 4 || hasTitleWord(seg) || hasLegalForm(seg) {
		return false
	}
	for _, w := range words {
		r, _ := utf8.DecodeRuneInString(w)
		if !unicode.IsUpper(r) && !slices.Contains(particles, strings.ToLower(w)) {
			return false
		}
		for _, c := range w {
			if !unicode.IsLetter(c) && c != '-' && c != '\'' && c != '.' {
				return false
			}
		}
	}
	return true
}

// titleAndCompany places "VP Engineering, Globex Corporation".
func (s *Signature) titleAndCompany(seg string) bool {
	i := strings.LastIndex(seg, ", ")
	if i < 0 || s.Title != "" || s.Company != "" {
		return false
	}
	title, company := strings.TrimSpace(seg[:i]), strings.TrimSpace(seg[i+2:])
	if !hasTitleWord(title) || !hasLegalForm(company) {
		return false
	}
	s.Title, s.Company = title, company
	return true
}

// legalForms are company suffixes, compared lower case without dots.
var legalForms = []string{
	"gmbh", "ag", "kg", "ohg", "ug", "ev", "gbr", "se", "inc", "llc", "llp", "lp", "ltd", "limited", "corp",
	"corporation", "co", "company", "plc", "sa", "sas", "sarl", "sl", "slu", "spa", "srl", "bv", "nv", "ab", "oy",
	"as", "aps", "asa", "pty", "kft", "sro", "group", "gruppe", "holding", "lda", "ltda",
}

func hasLegalForm(seg string) bool {
	words := strings.Fields(seg)
	if len(words) < 2 {
		return false
	}
	last := strings.ToLower(strings.NewReplacer(".", "", ",", "", "(", "", ")", "").Replace(words[len(words)-1]))
	return slices.Contains(legalForms, last)
}

// titleWords mark job titles in English, German, French, Spanish, Italian,
// Dutch and Portuguese.
var titleWords = []string{
	"manager", "director", "head of", "chief", "ceo", "cto", "cfo", "coo", "cmo", "cio", "vp", "vice president",
	"president", "founder", "partner", "owner", "engineer", "developer", "consultant", "specialist", "analyst",
	"executive", "officer", "team lead", "architect", "coordinator", "assistant", "associate", "representative",
	"advisor", "adviser", "administrator", "account", "sales", "marketing", "recruiter", "product",
	"geschäftsführer", "geschäftsführerin", "leiter", "leiterin", "vertrieb", "berater", "beraterin",
	"referent", "referentin", "ingenieur", "inhaber", "prokurist", "vorstand", "einkauf", "sachbearbeiter",
	"directeur", "directrice", "responsable", "chef de", "gérant", "chargé", "chargée", "commercial",
	"commerciale", "président", "directora", "gerente", "jefe", "jefa", "ingeniero", "consultor", "consultora",
	"direttore", "direttrice", "amministratore", "eigenaar", "adviseur", "accountmanager", "diretor", "diretora",
}

func hasTitleWord(seg string) bool {
	l := " " + strings.ToLower(seg) + " "
	for _, w := range titleWords {
		i := strings.Index(l, w)
		if i < 0 {
			continue
		}
		before, _ := utf8.DecodeLastRuneInString(l[:i])
		after, _ := utf8.DecodeRuneInString(l[i+len(w):])
		if !unicode.IsLetter(before) && !unicode.IsLetter(after) {
			return true
		}
	}
	return false
}

// companyFromDomain names a company after a website's or address's domain
// ("www.acme-tools.de" → "Acme-tools"), never after a free-mail provider.
func companyFromDomain(website, addr string) string {
	host := strings.ToLower(website)
	host = strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
	host, _, _ = strings.Cut(host, "/")
	if host == "" {
		_, host, _ = strings.Cut(addr, "@")
	}
	host = strings.TrimPrefix(host, "www.")
	if host == "" || slices.Contains(freeMail, host) {
		return ""
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return ""
	}
	// "acme.co.uk" → "acme": skip a second-level label like co, com, ac.
	name := labels[len(labels)-2]
	if len(labels) >= 3 && len(name) <= 3 && (name == "co" || name == "com" || name == "ac" || name == "org" || name == "gov") {
		name = labels[len(labels)-3]
	}
	return capitalize(name)
}

// freeMail are consumer mail domains: their addresses say nothing about a
// company.
var freeMail = []string{
	"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
	"ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.com", "gmx.de", "gmx.net", "web.de",
	"proton.me", "protonmail.com", "mail.com", "yandex.ru", "yandex.com", "mail.ru", "zoho.com", "fastmail.com",
	"t-online.de", "orange.fr", "free.fr", "libero.it", "qq.com", "163.com", "hotmail.fr", "hotmail.co.uk",
	"yahoo.fr", "yahoo.de", "yahoo.co.uk", "wanadoo.fr", "laposte.net", "freenet.de", "arcor.de",
}
