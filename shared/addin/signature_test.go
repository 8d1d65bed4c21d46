package addin

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSignature(t *testing.T) {
	tests := []struct {
		name          string
		from, address string
		text          string
		want          Signature
	}{
		{
			name: "us english with labels",
			from: "Jane Doe", address: "Jane.Doe@AcmeCorp.com",
			text: "Thanks for the quick reply, see you Tuesday.\n\nBest regards,\n\nJane Doe\nSenior Account Executive\nAcme Corp, Inc.\n1200 Market Street, Suite 400\nSan Francisco, CA 94103\nT: +1 (415) 555-0132 | M: +1 415 555 0199\nwww.acmecorp.com\n",
			want: Signature{FirstName: "Jane", LastName: "Doe", Email: "jane.doe@acmecorp.com", Title: "Senior Account Executive",
				Company: "Acme Corp, Inc.", Phone: "+1 (415) 555-0132", Mobile: "+1 415 555 0199", Website: "www.acmecorp.com",
				Street: "1200 Market Street", City: "San Francisco", State: "CA", PostalCode: "94103"},
		},
		{
			name: "german with legal footer",
			from: "Müller, Thomas", address: "t.mueller@beispiel-maschinenbau.de",
			text: "Mit freundlichen Grüßen\n\nDr. Thomas Müller\nLeiter Vertrieb\n\nBeispiel Maschinenbau GmbH\nHauptstraße 12\nD-80331 München\nTel.: +49 89 123456-0\nFax: +49 89 123456-99\nMobil: +49 171 2345678\nE-Mail: t.mueller@beispiel-maschinenbau.de\nwww.beispiel-maschinenbau.de\n\nGeschäftsführer: Hans Beispiel, Petra Muster\nAmtsgericht München HRB 123456\n",
			want: Signature{FirstName: "Thomas", LastName: "Müller", Email: "t.mueller@beispiel-maschinenbau.de", Title: "Leiter Vertrieb",
				Company: "Beispiel Maschinenbau GmbH", Phone: "+49 89 123456-0", Mobile: "+49 171 2345678",
				Website: "www.beispiel-maschinenbau.de", Street: "Hauptstraße 12", City: "München", PostalCode: "80331"},
		},
		{
			name: "french one line address",
			from: "DUPONT Jean", address: "jean.dupont@exemple.fr",
			text: "Cordialement,\n\nJean DUPONT\nDirecteur Commercial | Exemple SAS\n12 rue de la Paix, 75002 Paris, France\nTél. : +33 1 23 45 67 89\nPortable : +33 6 12 34 56 78\n",
			want: Signature{FirstName: "Jean", LastName: "DUPONT", Email: "jean.dupont@exemple.fr", Title: "Directeur Commercial",
				Company: "Exemple SAS", Phone: "+33 1 23 45 67 89", Mobile: "+33 6 12 34 56 78",
				Street: "12 rue de la Paix", City: "Paris", PostalCode: "75002", Country: "France"},
		},
		{
			name: "spanish",
			from: "María García López", address: "mgarcia@ejemplo.es",
			text: "Un saludo,\nMaría García López\nGerente de Ventas\nEjemplo Soluciones S.L.\nCalle de Alcalá 45, 28014 Madrid\nMóvil: +34 612 345 678\n",
			want: Signature{FirstName: "María", LastName: "García López", Email: "mgarcia@ejemplo.es", Title: "Gerente de Ventas",
				Company: "Ejemplo Soluciones S.L.", Mobile: "+34 612 345 678", Street: "Calle de Alcalá 45", City: "Madrid", PostalCode: "28014"},
		},
		{
			name: "dutch with particle and postcode letters",
			from: "Jan van der Berg", address: "jan@voorbeeld.nl",
			text: "Met vriendelijke groet,\n\nJan van der Berg\nAccountmanager\nVoorbeeld B.V.\nKeizersgracht 123\n1015 CJ Amsterdam\nT +31 20 123 4567\n",
			want: Signature{FirstName: "Jan", LastName: "van der Berg", Email: "jan@voorbeeld.nl", Title: "Accountmanager",
				Company: "Voorbeeld B.V.", Phone: "+31 20 123 4567", Street: "Keizersgracht 123", City: "Amsterdam", PostalCode: "1015 CJ"},
		},
		{
			name: "uk pipe separated single line, no legal form",
			from: "", address: "oliver.smith@northwind.co.uk",
			text: "--\nOliver Smith | Head of Procurement | Northwind Traders\n10 Downing Road, London SW1A 2AA, United Kingdom\n+44 20 7946 0958\nhttps://northwind.co.uk\n",
			want: Signature{FirstName: "Oliver", LastName: "Smith", Email: "oliver.smith@northwind.co.uk", Title: "Head of Procurement",
				Company: "Northwind Traders", Phone: "+44 20 7946 0958", Website: "https://northwind.co.uk",
				Street: "10 Downing Road", City: "London", PostalCode: "SW1A 2AA", Country: "United Kingdom"},
		},
		{
			name: "italian, company from the domain, reply quoted below",
			from: "Giulia Rossi", address: "giulia.rossi@esempio.it",
			text: "Cordiali saluti\nGiulia Rossi\nResponsabile Acquisti\nCell. +39 333 1234567\n\nIl giorno lun 3 nov\n> On Mon, Nov 3, 2026 Jane wrote:\n> Tel: +1 555 000 0000\n",
			want: Signature{FirstName: "Giulia", LastName: "Rossi", Email: "giulia.rossi@esempio.it", Title: "Responsabile Acquisti",
				Company: "Esempio", Mobile: "+39 333 1234567"},
		},
		{
			name: "free mail and no signature: name from the address only",
			from: "", address: "bob.jones@gmail.com",
			text: "",
			want: Signature{FirstName: "Bob", LastName: "Jones", Email: "bob.jones@gmail.com"},
		},
		{
			name: "sign-off with the name on the same line; disclaimer cut",
			from: "Ken Adams", address: "ken@globex.com",
			text: "Cheers, Ken Adams\nVP Engineering, Globex Corporation\n(555) 010-7788\nThis e-mail and any attachments are confidential. Call +1 555 999 9999.\n",
			want: Signature{FirstName: "Ken", LastName: "Adams", Email: "ken@globex.com", Title: "VP Engineering",
				Company: "Globex Corporation", Phone: "(555) 010-7788"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseSignature(tt.from, tt.address, tt.text)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSignature() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct{ in, first, last string }{
		{"Jane Doe", "Jane", "Doe"},
		{"Doe, Jane", "Jane", "Doe"},
		{"Dr. Jane Doe, PhD", "Jane", "Doe"},
		{"Jan van der Berg", "Jan", "van der Berg"},
		{"DUPONT Jean", "Jean", "DUPONT"},
		{"Jean-Luc Picard (Enterprise)", "Jean-Luc", "Picard"},
		{"Cher", "", "Cher"},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			first, last := splitName(tt.in)
			if first != tt.first || last != tt.last {
				t.Errorf("splitName(%q) = %q, %q; want %q, %q", tt.in, first, last, tt.first, tt.last)
			}
		})
	}
}

// FuzzParseSignature checks the parser never panics and only proposes
// text that was in its input.
func FuzzParseSignature(f *testing.F) {
	f.Add("Jane Doe", "jane@acme.com", "Best regards,\nJane Doe\nCEO\nAcme Inc.\nT: +1 555 010 1234")
	f.Add("DUPONT Jean", "j@x.fr", "Cordialement, İstanbul\n12 rue X, 75002 Paris")
	f.Add("Doe, ", "", "--\n|||\n· •\nT:\nM: 12")
	f.Add("", "@", "Mit freundlichen Grüßen,\n\n\n")
	f.Fuzz(func(t *testing.T, name, addr, text string) {
		s := ParseSignature(name, addr, text)
		all := strings.ToValidUTF8(name, "") + strings.ToValidUTF8(addr, "") + strings.ToValidUTF8(text, "")
		for field, v := range map[string]string{"title": s.Title, "street": s.Street, "postal": s.PostalCode} {
			if v != "" && !strings.Contains(strings.Join(strings.Fields(all), " "), strings.Join(strings.Fields(v), " ")) {
				t.Errorf("%s %q is not in the input", field, v)
			}
		}
	})
}
