package feed

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/patchwave/patchwave"
)

// MaxCVRFBytes bounds one MSRC CVRF document (a monthly document is tens
// of MB in JSON).
const MaxCVRFBytes = 256 << 20

// MSRCRelease is one Microsoft security update document (CVRF v3, from
// https://api.msrc.microsoft.com/cvrf/v3.0/cvrf/{ID}): a month's release,
// with its products and vulnerabilities.
type MSRCRelease struct {
	ID       string            // "2024-Mar"
	Title    string            // "March 2024 Security Updates"
	Released time.Time         // InitialReleaseDate
	Updated  time.Time         // CurrentReleaseDate (revisions come later)
	Products map[string]string // ProductID → full product name
	Vulns    []MSRCVuln        // in the document's order
}

// MSRCVuln is one CVE in an MSRC release.
type MSRCVuln struct {
	CVE      string
	Title    string
	Severity string  // Microsoft's highest rating over the products: Critical, Important, Moderate, Low; "" if none
	CVSS     float64 // highest CVSS base score over the products; 0 if none
	Vector   string  // the vector of that score
	// Exploited is true when the exploit status threat says "Exploited:Yes".
	Exploited    bool
	Remediations []MSRCRemediation
}

// Level maps Microsoft's rating onto patchwave's: Critical → critical,
// Important → high, Moderate → medium, Low → low, otherwise unknown.
func (v MSRCVuln) Level() patchwave.Severity {
	switch strings.ToLower(v.Severity) {
	case "critical":
		return patchwave.SeverityCritical
	case "important":
		return patchwave.SeverityHigh
	case "moderate":
		return patchwave.SeverityMedium
	case "low":
		return patchwave.SeverityLow
	}
	return patchwave.SeverityUnknown
}

// MSRCRemediation is one remediation of a vulnerability for some products.
// For Windows, a host is patched when its OS build.UBR is at least
// FixedBuild (cumulative updates supersede each other), not when a KB is
// present.
type MSRCRemediation struct {
	Type         string   // "Vendor Fix", "Workaround", "Mitigation", "Will Not Fix", "None Available", "Known Issue"…
	SubType      string   // "Security Update", "Monthly Rollup", "Security Only"…
	KB           string   // the KB number ("5035857") when Description is one, else ""
	Description  string   // as given: a KB number, "Release Notes", a workaround text…
	URL          string   // where to get it
	FixedBuild   string   // exactly as given: "10.0.20348.2340", "17.9.3"
	ProductIDs   []string // the products it applies to (keys of MSRCRelease.Products)
	Supercedence string   // the KB(s) it replaces, as given (Microsoft's spelling)
	Restart      string   // RestartRequired: "Yes", "No", "Maybe"
}

// ParseCVRF reads an MSRC CVRF v3 document in its JSON or XML form (told
// apart by the first non-space byte). Every vulnerability needs a CVE id;
// the document needs an ID. Errors name the document and the CVE.
func ParseCVRF(r io.Reader) (MSRCRelease, error) {
	b, err := readAllCapped(r, MaxCVRFBytes, "CVRF document")
	if err != nil {
		return MSRCRelease{}, err
	}
	var doc cvrfDoc
	switch t := bytes.TrimLeft(b, " \t\r\n\ufeff"); {
	case len(t) > 0 && t[0] == '{':
		err = json.Unmarshal(b, &doc)
		if err != nil {
			err = invalid("CVRF JSON: %s", jsonError(b, err))
		}
	case len(t) > 0 && t[0] == '<':
		err = xml.Unmarshal(b, &doc)
		if err != nil {
			err = invalid("CVRF XML: %v", err)
		}
	default:
		err = invalid("CVRF document is neither JSON nor XML")
	}
	if err != nil {
		return MSRCRelease{}, err
	}
	return doc.release()
}

// cvrfDoc is the union of the JSON and XML forms: the XML tags omit the
// namespaces, which encoding/xml then ignores.
type cvrfDoc struct {
	Title    cvrfText `json:"DocumentTitle" xml:"DocumentTitle"`
	Tracking struct {
		Identification struct {
			ID cvrfText `json:"ID" xml:"ID"`
		} `json:"Identification" xml:"Identification"`
		InitialReleaseDate string `json:"InitialReleaseDate" xml:"InitialReleaseDate"`
		CurrentReleaseDate string `json:"CurrentReleaseDate" xml:"CurrentReleaseDate"`
	} `json:"DocumentTracking" xml:"DocumentTracking"`
	ProductTree   cvrfBranch `json:"ProductTree" xml:"ProductTree"`
	Vulnerability []cvrfVuln `json:"Vulnerability" xml:"Vulnerability"`
}

// cvrfBranch is a product tree node: products, and branches below. The
// JSON form calls the children Items, the XML form Branch.
type cvrfBranch struct {
	FullProductName []cvrfProduct `json:"FullProductName" xml:"FullProductName"`
	Branch          []cvrfBranch  `json:"Branch" xml:"Branch"`
	Items           []cvrfBranch  `json:"Items" xml:"-"`
	// A JSON leaf item is a product itself.
	ProductID string `json:"ProductID" xml:"-"`
	Value     string `json:"Value" xml:"-"`
}

type cvrfProduct struct {
	ProductID string `json:"ProductID" xml:"ProductID,attr"`
	Value     string `json:"Value" xml:",chardata"`
}

type cvrfVuln struct {
	Title   cvrfText `json:"Title" xml:"Title"`
	CVE     string   `json:"CVE" xml:"CVE"`
	Threats []struct {
		Type        cvrfType `json:"Type" xml:"Type,attr"`
		Description cvrfText `json:"Description" xml:"Description"`
	} `json:"Threats" xml:"Threats>Threat"`
	ScoreSets []struct {
		BaseScore cvrfNumber `json:"BaseScore" xml:"BaseScore"`
		Vector    string     `json:"Vector" xml:"Vector"`
	} `json:"CVSSScoreSets" xml:"CVSSScoreSets>ScoreSet"`
	Remediations []struct {
		Type            cvrfType `json:"Type" xml:"Type,attr"`
		SubType         string   `json:"SubType" xml:"SubType"`
		Description     cvrfText `json:"Description" xml:"Description"`
		URL             string   `json:"URL" xml:"URL"`
		FixedBuild      string   `json:"FixedBuild" xml:"FixedBuild"`
		ProductID       []string `json:"ProductID" xml:"ProductID"`
		Supercedence    string   `json:"Supercedence" xml:"Supercedence"`
		RestartRequired cvrfText `json:"RestartRequired" xml:"RestartRequired"`
	} `json:"Remediations" xml:"Remediations>Remediation"`
}

// cvrfText is a text that the JSON form wraps as {"Value": "…"} and the
// XML form gives as element content.
type cvrfText string

func (t *cvrfText) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = cvrfText(s)
		return nil
	}
	var v struct{ Value *string }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Value != nil {
		*t = cvrfText(*v.Value)
	}
	return nil
}

func (t *cvrfText) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var s string
	if err := d.DecodeElement(&s, &start); err != nil {
		return err
	}
	*t = cvrfText(s)
	return nil
}

// cvrfType is an enumeration the JSON form gives as a number and the XML
// form as a word; numbers are mapped to words by table.
type cvrfType struct {
	Word string
	Num  int // -1 when given as a word
}

func (t *cvrfType) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*t = cvrfType{Num: n}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("type %.20s is neither a number nor a string", b)
	}
	*t = cvrfType{Word: s, Num: -1}
	return nil
}

func (t *cvrfType) UnmarshalXMLAttr(a xml.Attr) error {
	*t = cvrfType{Word: a.Value, Num: -1}
	return nil
}

// cvrfNumber is a score the JSON form gives as a number and the XML form
// as text.
type cvrfNumber float64

func (n *cvrfNumber) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var s string
	if err := d.DecodeElement(&s, &start); err != nil {
		return err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("score %.20q is not a number", s)
	}
	*n = cvrfNumber(f)
	return nil
}

// The remediation types of CVRF 1.1 in the order of the JSON form's numbers.
var remediationTypes = []string{"Workaround", "Mitigation", "Vendor Fix", "None Available", "Will Not Fix", "Known Issue"}

var severityRank = map[string]int{"low": 1, "moderate": 2, "important": 3, "critical": 4}

func (d *cvrfDoc) release() (MSRCRelease, error) {
	rel := MSRCRelease{
		ID:       strings.TrimSpace(string(d.Tracking.Identification.ID)),
		Title:    strings.TrimSpace(string(d.Title)),
		Products: map[string]string{},
	}
	if rel.ID == "" {
		return MSRCRelease{}, invalid("CVRF document has no DocumentTracking/Identification/ID")
	}
	fail := func(format string, args ...any) error {
		return invalid("CVRF %s: %s", rel.ID, fmt.Sprintf(format, args...))
	}
	var err error
	if rel.Released, err = parseMSRCTime(d.Tracking.InitialReleaseDate); err != nil {
		return MSRCRelease{}, fail("InitialReleaseDate: %v", err)
	}
	if rel.Updated, err = parseMSRCTime(d.Tracking.CurrentReleaseDate); err != nil {
		return MSRCRelease{}, fail("CurrentReleaseDate: %v", err)
	}
	d.ProductTree.products(rel.Products, 0)

	rel.Vulns = make([]MSRCVuln, 0, len(d.Vulnerability))
	for i, v := range d.Vulnerability {
		mv := MSRCVuln{CVE: strings.TrimSpace(v.CVE), Title: strings.TrimSpace(string(v.Title))}
		if mv.CVE == "" {
			return MSRCRelease{}, fail("vulnerability %d (%.80q) has no CVE", i, mv.Title)
		}
		for _, t := range v.Threats {
			desc := strings.TrimSpace(string(t.Description))
			if exploited(desc) {
				mv.Exploited = true
			}
			// The severity threat (Type "Severity" in XML, a number in
			// JSON) is told by its word: no impact or exploit status
			// reads "Critical", "Important", "Moderate" or "Low".
			if r := severityRank[strings.ToLower(desc)]; r > severityRank[strings.ToLower(mv.Severity)] {
				mv.Severity = desc
			}
		}
		for _, s := range v.ScoreSets {
			if f := float64(s.BaseScore); f > mv.CVSS || (mv.Vector == "" && f == mv.CVSS) {
				if f < 0 || f > 10 {
					return MSRCRelease{}, fail("%s: CVSS base score %v out of range", mv.CVE, f)
				}
				mv.CVSS, mv.Vector = f, strings.TrimSpace(s.Vector)
			}
		}
		for _, r := range v.Remediations {
			typ := r.Type.Word
			if r.Type.Num >= 0 {
				if r.Type.Num >= len(remediationTypes) {
					return MSRCRelease{}, fail("%s: unknown remediation type %d", mv.CVE, r.Type.Num)
				}
				typ = remediationTypes[r.Type.Num]
			}
			desc := strings.TrimSpace(string(r.Description))
			mr := MSRCRemediation{
				Type:         typ,
				SubType:      strings.TrimSpace(r.SubType),
				Description:  desc,
				URL:          strings.TrimSpace(r.URL),
				FixedBuild:   strings.TrimSpace(r.FixedBuild),
				Supercedence: strings.TrimSpace(r.Supercedence),
				Restart:      strings.TrimSpace(string(r.RestartRequired)),
			}
			if kb := strings.TrimPrefix(strings.ToUpper(desc), "KB"); kb != "" && strings.Trim(kb, "0123456789") == "" {
				mr.KB = kb
			}
			for _, p := range r.ProductID {
				if p = strings.TrimSpace(p); p != "" {
					mr.ProductIDs = append(mr.ProductIDs, p)
				}
			}
			mv.Remediations = append(mv.Remediations, mr)
		}
		rel.Vulns = append(rel.Vulns, mv)
	}
	return rel, nil
}

// exploited reads an exploit status such as "Publicly Disclosed:No;
// Exploited:Yes;Latest Software Release:Exploitation Detected".
func exploited(s string) bool {
	for _, kv := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(kv, ":")
		if ok && strings.TrimSpace(k) == "Exploited" && strings.EqualFold(strings.TrimSpace(v), "Yes") {
			return true
		}
	}
	return false
}

// maxTreeDepth bounds the recursion over a hostile product tree.
const maxTreeDepth = 64

func (b *cvrfBranch) products(m map[string]string, depth int) {
	if depth > maxTreeDepth {
		return
	}
	add := func(id, name string) {
		id, name = strings.TrimSpace(id), strings.Join(strings.Fields(name), " ")
		if id != "" && (m[id] == "" || name != "") {
			m[id] = name
		}
	}
	for _, p := range b.FullProductName {
		add(p.ProductID, p.Value)
	}
	if b.ProductID != "" {
		add(b.ProductID, b.Value)
	}
	for i := range b.Branch {
		b.Branch[i].products(m, depth+1)
	}
	for i := range b.Items {
		b.Items[i].products(m, depth+1)
	}
}

// parseMSRCTime parses MSRC's times: RFC 3339, or without a zone (UTC).
// An empty string is the zero time.
func parseMSRCTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%.40q is not a time", s)
}

// MSRCUpdate is one entry of MSRC's list of CVRF documents
// (https://api.msrc.microsoft.com/cvrf/v3.0/updates).
type MSRCUpdate struct {
	ID       string    // "2024-Mar"
	Alias    string    // usually the ID
	Title    string    // "March 2024 Security Updates"
	Released time.Time // InitialReleaseDate
	Updated  time.Time // CurrentReleaseDate: fetch the document again when it moves
	URL      string    // CvrfUrl, the document's address
}

// ParseMSRCUpdates reads MSRC's update list, in its order. Each entry
// needs an ID and a CvrfUrl.
func ParseMSRCUpdates(r io.Reader) ([]MSRCUpdate, error) {
	b, err := readAllCapped(r, 64<<20, "MSRC update list")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Value *[]struct {
			ID, Alias, DocumentTitle               string
			InitialReleaseDate, CurrentReleaseDate string
			CvrfURL                                string `json:"CvrfUrl"`
		} `json:"value"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, invalid("MSRC update list: %s", jsonError(b, err))
	}
	if doc.Value == nil {
		return nil, invalid("MSRC update list has no value array")
	}
	out := make([]MSRCUpdate, 0, len(*doc.Value))
	for i, v := range *doc.Value {
		u := MSRCUpdate{ID: v.ID, Alias: v.Alias, Title: v.DocumentTitle, URL: v.CvrfURL}
		if u.ID == "" || u.URL == "" {
			return nil, invalid("MSRC update list: entry %d (%.40q) lacks an ID or CvrfUrl", i, v.ID)
		}
		if u.Released, err = parseMSRCTime(v.InitialReleaseDate); err != nil {
			return nil, invalid("MSRC update %s: InitialReleaseDate: %v", u.ID, err)
		}
		if u.Updated, err = parseMSRCTime(v.CurrentReleaseDate); err != nil {
			return nil, invalid("MSRC update %s: CurrentReleaseDate: %v", u.ID, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// IsMSRCUpdateList reports whether b, a feed file, is MSRC's list of
// update documents (https://api.msrc.microsoft.com/cvrf/v3.0/updates)
// rather than one CVRF document: a JSON object whose first few KiB name
// a CvrfUrl or an OData context, which documents never have.
func IsMSRCUpdateList(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n\ufeff")
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	head := t[:min(len(t), 8<<10)]
	return bytes.Contains(head, []byte(`"CvrfUrl"`)) || bytes.Contains(head, []byte(`"@odata.context"`))
}
