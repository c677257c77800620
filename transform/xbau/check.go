package xbau

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/amtsbote/amtsbote/transform"
)

// checkAnlagenComplete reports every Anlage that is neither attached (no
// attachment has its dokumentId) nor marked wirdNachgereicht: the
// Bauaufsicht would receive metadata of a document that never arrives.
// Together with checkAttachments, each declared Anlage is either attached
// (and not marked wirdNachgereicht) or announced for later.
func checkAnlagenComplete(errs []transform.FieldError, data map[string]any, attachments []transform.Attachment) []transform.FieldError {
	anlagen, _ := data["anlagen"].([]any)
	for i, a := range anlagen {
		a, ok := a.(map[string]any)
		if !ok {
			continue
		}
		id, ok := a["dokumentId"].(string)
		if !ok {
			continue // reported by the schema
		}
		if later, _ := a["wirdNachgereicht"].(bool); later || attachmentOf(attachments, id) != nil {
			continue
		}
		errs = append(errs, transform.FieldError{
			Pointer:   "/data/anlagen/" + strconv.Itoa(i),
			Code:      transform.CodeInvalid,
			Message:   "no file is attached for this Anlage (no attachment has its dokumentId) and it is not marked wirdNachgereicht",
			MessageDE: "zu dieser Anlage ist keine Datei beigefügt (kein Anhang mit ihrer dokumentId) und sie ist nicht als wirdNachgereicht gekennzeichnet",
		})
	}
	return errs
}

// attachmentOf returns the attachment whose id is dokumentID, compared
// case-insensitively, or nil.
func attachmentOf(attachments []transform.Attachment, dokumentID string) *transform.Attachment {
	for i := range attachments {
		if strings.EqualFold(attachments[i].ID, dokumentID) {
			return &attachments[i]
		}
	}
	return nil
}

// checkCodes reports every code of the payload that is not a value of its
// code list (the lists of code.go); the message names the list and version.
func checkCodes(errs []transform.FieldError, data map[string]any) []transform.FieldError {
	if b := object(data, "bauvorlageberechtigung"); b != nil {
		if object(data, "entwurfsverfasser") == nil {
			errs = append(errs, transform.FieldError{Pointer: "/data/bauvorlageberechtigung", Code: transform.CodeInvalid,
				Message:   "requires /data/entwurfsverfasser: the Bauvorlageberechtigung is the Entwurfsverfasser's",
				MessageDE: "setzt /data/entwurfsverfasser voraus: die Bauvorlageberechtigung ist die des Entwurfsverfassers"})
		}
		errs = checkCode(errs, "/data/bauvorlageberechtigung/grundlage", b["grundlage"], codesBauvorlageberechtigungSachverhalt)
		errs = checkCode(errs, "/data/bauvorlageberechtigung/kammer", b["kammer"], codesKammer)
	}
	errs = checkCode(errs, "/data/artDesBauherrn", data["artDesBauherrn"], codesBauherrArt)
	bv := object(data, "bauvorhaben")
	for i, c := range array(bv, "artDerMassnahme") {
		errs = checkCode(errs, "/data/bauvorhaben/artDerMassnahme/"+strconv.Itoa(i), c, codesBaumassnahmeArt)
	}
	errs = checkArtDerBaulichenAnlage(errs, "/data/bauvorhaben/artDerBaulichenAnlage", object(bv, "artDerBaulichenAnlage"))
	if n := object(bv, "nutzungsaenderung"); n != nil {
		errs = checkArtDerBaulichenAnlage(errs, "/data/bauvorhaben/nutzungsaenderung/bisherigeNutzung", object(n, "bisherigeNutzung"))
		errs = checkArtDerBaulichenAnlage(errs, "/data/bauvorhaben/nutzungsaenderung/beabsichtigteNutzung", object(n, "beabsichtigteNutzung"))
	}
	if k := object(bv, "klassifikation"); k != nil {
		errs = checkCode(errs, "/data/bauvorhaben/klassifikation/gebaeudeklasse", k["gebaeudeklasse"], codesGebaeudeklasse)
		errs = checkCode(errs, "/data/bauvorhaben/klassifikation/garage", k["garage"], codesGaragentyp)
	}
	for i, a := range array(data, "anlagen") {
		if a, ok := a.(map[string]any); ok {
			errs = checkCode(errs, "/data/anlagen/"+strconv.Itoa(i)+"/anlageart", a["anlageart"], codesAnlageArt)
		}
	}
	return errs
}

// checkArtDerBaulichenAnlage checks the codes of an artDerBaulichenAnlage
// object at pointer (nil: nothing to check).
func checkArtDerBaulichenAnlage(errs []transform.FieldError, pointer string, a map[string]any) []transform.FieldError {
	if a == nil {
		return errs
	}
	errs = checkCode(errs, pointer+"/wohngebaeudeArt", a["wohngebaeudeArt"], codesWohngebaeudeArt)
	return checkCode(errs, pointer+"/nichtwohngebaeudeArt", a["nichtwohngebaeudeArt"], codesNichtwohngebaeudeArt)
}

// checkBauvorhaben reports what XBau's annotations ask of a Bauvorhaben
// beyond the schema: the bisherige and beabsichtigte Nutzung of a
// Nutzungsänderung (artDerMassnahme 13 or 14) of buildings, and one gebaeude
// per building where the buildings are named.
//
// A Nutzungsänderung of no building (anzahlGebaeude 0: a Stellplatz that
// becomes a Lagerplatz) need not state the Nutzungen: the payload has only
// the Wohn- and Nichtwohngebäude lists, and XBau's third, the
// artDerSonstigenAnlage, has no code list whose values could be checked
// (XBau names urn:xoev-de:xbau:codeliste:baulicheanlagen.sonstige only as a
// suggestion, of type 3).
func checkBauvorhaben(errs []transform.FieldError, data map[string]any) []transform.FieldError {
	bv := object(data, "bauvorhaben")
	if bv == nil {
		return errs
	}
	// buildings: at least one (not 0, nor a count the schema refuses)
	buildings := false
	if n, err := strconv.Atoi(number(bv, "anzahlGebaeude")); err == nil && n >= 1 {
		buildings = true
	}
	for _, c := range array(bv, "artDerMassnahme") {
		if buildings && (c == "13" || c == "14") && bv["nutzungsaenderung"] == nil {
			errs = append(errs, transform.FieldError{Pointer: "/data/bauvorhaben/nutzungsaenderung", Code: transform.CodeRequired,
				Message:   "is required for a Nutzungsänderung (artDerMassnahme " + c.(string) + "): the bisherige and the beabsichtigte Nutzung",
				MessageDE: "ist bei einer Nutzungsänderung (artDerMassnahme " + c.(string) + ") erforderlich: die bisherige und die beabsichtigte Nutzung"})
			break
		}
	}
	if g, ok := bv["gebaeude"].([]any); ok {
		if n, err := strconv.Atoi(number(bv, "anzahlGebaeude")); err == nil && n >= 0 && n != len(g) {
			errs = append(errs, transform.FieldError{Pointer: "/data/bauvorhaben/gebaeude", Code: transform.CodeInvalid,
				Message:   "must name as many buildings as anzahlGebaeude (" + strconv.Itoa(n) + "), one each",
				MessageDE: "muss so viele Gebäude nennen wie anzahlGebaeude (" + strconv.Itoa(n) + "), jedes einmal"})
		}
	}
	return errs
}

// checkCode reports value, where it is a string, unless it is a code of
// list. Absent values and other types are left to the payload schema.
func checkCode(errs []transform.FieldError, pointer string, value any, list *codeList) []transform.FieldError {
	code, ok := value.(string)
	if !ok || list.has(code) {
		return errs
	}
	return append(errs, transform.FieldError{
		Pointer:   pointer,
		Code:      transform.CodeEnum,
		Message:   "is not a code of the code list " + list.describe(),
		MessageDE: "ist kein Code der Codeliste " + list.describe(),
	})
}

// checkKlassifikation reports a bauordnungsrechtliche Klassifikation that
// contradicts itself or the stated building data: the Gebäudeklasse
// (checkGebaeudeklasse) and the garage type against mittelOderGrossGarage.
func checkKlassifikation(errs []transform.FieldError, data map[string]any) []transform.FieldError {
	bv := object(data, "bauvorhaben")
	k := object(bv, "klassifikation")
	if k == nil {
		return errs
	}
	const base = "/data/bauvorhaben/klassifikation/"
	if mg, ok := k["mittelOderGrossGarage"].(bool); ok {
		switch garage, _ := k["garage"].(string); {
		case mg && garage == "1":
			errs = append(errs, transform.FieldError{Pointer: base + "garage", Code: transform.CodeInvalid,
				Message:   "Kleingarage (1) contradicts mittelOderGrossGarage true",
				MessageDE: "Kleingarage (1) widerspricht mittelOderGrossGarage true"})
		case !mg && (garage == "2" || garage == "3"):
			errs = append(errs, transform.FieldError{Pointer: base + "garage", Code: transform.CodeInvalid,
				Message:   "a Mittel- or Großgarage (" + garage + ") contradicts mittelOderGrossGarage false",
				MessageDE: "eine Mittel- oder Großgarage (" + garage + ") widerspricht mittelOderGrossGarage false"})
		}
	}
	if e := checkGebaeudeklasse(bv, k); e != nil {
		errs = append(errs, *e)
	}
	return errs
}

// Limits of § 2 Abs. 3 Satz 1 MBO: the height of 7 m and 13 m, the two
// Nutzungseinheiten and their 400 m².
var (
	hoehe7  = big.NewRat(7, 1)
	hoehe13 = big.NewRat(13, 1)
	flaeche = big.NewRat(400, 1)

	// the ranges of the payload schema
	maxHoehe   = big.NewRat(99999, 100)
	maxFlaeche = big.NewRat(999999999, 100)
)

// maxNEKlein is the number of Nutzungseinheiten of Gebäudeklasse 1 and 2.
const maxNEKlein = 2

// Codes the Gebäudeklasse check reads.
const (
	// massnahmeErrichtung is the artDerMassnahme Errichtung: only then do
	// the Nutzungseinheiten describe the whole building (an Änderung may
	// state those of the Erweiterungsbau, see the annotation of
	// bauvorhabenDatenblatt).
	massnahmeErrichtung = "11"
	// nichtwohngebaeudeLandwirtschaft is the nichtwohngebaeudeArt
	// Landwirtschaftliche Betriebsgebäude: with istFreistehend not false,
	// Gebäudeklasse 1 by § 2 Abs. 3 Satz 1 Nr. 1 b MBO at any height.
	nichtwohngebaeudeLandwirtschaft = "500"
)

// buildingData is what the payload states about the one building of the
// Bauvorhaben, as far as § 2 Abs. 3 MBO needs it.
type buildingData struct {
	hoehe      *big.Rat // hoeheNachMBO; nil when not stated
	freistehen *bool    // istFreistehend; nil when not stated
	landwirt   bool     // stated as Landwirtschaftliches Betriebsgebäude (500)
	ne         int      // number of Nutzungseinheiten; 0 when not stated or not used
	summe      *big.Rat // their total area
	groesste   *big.Rat // the largest one
}

// klein reports GK 1/2's limit on Nutzungseinheiten: not more than two,
// together not more than 400 m².
func (d buildingData) klein() bool { return d.ne <= maxNEKlein && d.summe.Cmp(flaeche) <= 0 }

// maybeFreistehend reports whether the building may be freistehend: only an
// istFreistehend false rules it out.
func (d buildingData) maybeFreistehend() bool { return d.freistehen == nil || *d.freistehen }

// lowest returns the lowest Gebäudeklasse of 2 to 5 that the stated data
// permit by § 2 Abs. 3 Satz 1 Nr. 2 to 5 MBO; data not stated rule nothing
// out. GK 1 is decided apart (allows).
func (d buildingData) lowest() int {
	neKnown := d.ne > 0
	switch {
	case d.hoehe != nil && d.hoehe.Cmp(hoehe13) > 0:
		return 5 // Nr. 5
	case d.hoehe != nil && d.hoehe.Cmp(hoehe7) > 0:
		if neKnown && d.groesste.Cmp(flaeche) > 0 {
			return 5 // Nr. 4 needs each Nutzungseinheit at most 400 m²
		}
		return 4
	case neKnown && !d.klein():
		return 3 // Nr. 2 needs at most two of together at most 400 m²
	}
	return 2
}

// allows reports whether Gebäudeklasse gk (1 to 5) is compatible with the
// stated data. Only an under-classification is refused: a class above the
// lowest the data permit is the applicant's choice and legally harmless.
//
//   - GK 1 whenever the building may be freistehend, at any height and with
//     any Nutzungseinheiten: a freistehendes land- or forstwirtschaftlich
//     genutztes Gebäude is GK 1 (Nr. 1 b), which the payload cannot rule
//     out.
//   - Every class for a Landwirtschaftliches Betriebsgebäude that may be
//     freistehend: it is GK 1 by Nr. 1 b, so any stated class is at least
//     that.
//   - Otherwise at least the class of lowest.
func (d buildingData) allows(gk int) bool {
	if d.maybeFreistehend() && (gk == 1 || d.landwirt) {
		return true
	}
	return gk >= max(d.lowest(), 2)
}

// checkGebaeudeklasse reports a gebaeudeklasse below the lowest class that
// § 2 Abs. 3 Satz 1 MBO (or the corresponding provision of the
// Landesbauordnung, which adopt it) permits for the stated data:
//
//   - GK 1: freistehend (Nr. 1: up to 7 m with at most two Nutzungseinheiten
//     of together at most 400 m², or land- or forstwirtschaftlich genutzt
//     at any height);
//   - GK 2: height up to 7 m, at most two Nutzungseinheiten of together at
//     most 400 m² (Nr. 2);
//   - GK 3: height up to 7 m (Nr. 3);
//   - GK 4: height up to 13 m, each Nutzungseinheit at most 400 m² (Nr. 4);
//   - GK 5: every other building (Nr. 5).
//
// The height is hoeheNachMBO (Satz 2: floor level of the top storey in which
// an Aufenthaltsraum is possible, above ground on average). The check applies
// to a Bauvorhaben of exactly one building (anzahlGebaeude 1), since with
// more the data cannot be told apart; the Nutzungseinheiten count only for
// an Errichtung (artDerMassnahme exactly 11), since for an Änderung they may
// describe the Erweiterungsbau alone. See buildingData.allows.
func checkGebaeudeklasse(bv, k map[string]any) *transform.FieldError {
	gk, _ := k["gebaeudeklasse"].(string)
	n, err := strconv.Atoi(gk)
	if err != nil || n < 1 || n > 5 || number(bv, "anzahlGebaeude") != "1" {
		return nil
	}
	var d buildingData
	if h, ok := rat(k["hoeheNachMBO"]); ok && new(big.Rat).Abs(h).Cmp(maxHoehe) <= 0 {
		d.hoehe = h // a height out of the schema's range is no evidence
	}
	if f, ok := k["istFreistehend"].(bool); ok {
		d.freistehen = &f
	}
	for _, a := range []map[string]any{object(bv, "artDerBaulichenAnlage"), object(object(bv, "nutzungsaenderung"), "beabsichtigteNutzung")} {
		if str(a, "nichtwohngebaeudeArt") == nichtwohngebaeudeLandwirtschaft {
			d.landwirt = true
		}
	}
	d.summe, d.groesste = new(big.Rat), new(big.Rat)
	if art := array(bv, "artDerMassnahme"); len(art) == 1 && art[0] == massnahmeErrichtung {
		for _, ne := range array(bv, "nutzungseinheiten") {
			ne, _ := ne.(map[string]any)
			f, ok := rat(ne["flaeche"])
			if !ok || f.Sign() <= 0 || f.Cmp(maxFlaeche) > 0 {
				return nil // reported by the schema
			}
			d.ne++
			d.summe.Add(d.summe, f)
			if f.Cmp(d.groesste) > 0 {
				d.groesste.Set(f)
			}
		}
	}
	if d.allows(n) {
		return nil
	}
	lowest := max(d.lowest(), 2)
	stated, angaben := d.describe()
	return &transform.FieldError{
		Pointer: "/data/bauvorhaben/klassifikation/gebaeudeklasse",
		Code:    transform.CodeInvalid,
		Message: fmt.Sprintf("Gebäudeklasse %d contradicts the stated building data (%s): by MBO § 2(3) or the corresponding provision of the Land building code the building is at least in Gebäudeklasse %d",
			n, stated, lowest),
		MessageDE: fmt.Sprintf("Gebäudeklasse %d widerspricht den Angaben zum Gebäude (%s): nach § 2 Abs. 3 MBO bzw. der entsprechenden Vorschrift der Landesbauordnung gehört es mindestens zur Gebäudeklasse %d",
			n, angaben, lowest),
	}
}

// describe lists the stated data in English and German.
func (d buildingData) describe() (en, de string) {
	var e, g []string
	if d.hoehe != nil {
		h := d.hoehe.FloatString(2)
		e = append(e, "hoeheNachMBO "+h+" m")
		g = append(g, "hoeheNachMBO "+strings.Replace(h, ".", ",", 1)+" m")
	}
	if d.freistehen != nil {
		e = append(e, "istFreistehend "+strconv.FormatBool(*d.freistehen))
		g = append(g, "istFreistehend "+strconv.FormatBool(*d.freistehen))
	}
	s, m := d.summe.FloatString(2), d.groesste.FloatString(2)
	sDE, mDE := strings.Replace(s, ".", ",", 1), strings.Replace(m, ".", ",", 1)
	switch {
	case d.ne == 1:
		e = append(e, "1 Nutzungseinheit of "+s+" m²")
		g = append(g, "1 Nutzungseinheit mit "+sDE+" m²")
	case d.ne > 1:
		e = append(e, fmt.Sprintf("%d Nutzungseinheiten of %s m² in total, the largest %s m²", d.ne, s, m))
		g = append(g, fmt.Sprintf("%d Nutzungseinheiten mit zusammen %s m², die größte %s m²", d.ne, sDE, mDE))
	}
	return strings.Join(e, ", "), strings.Join(g, ", ")
}

// maxNumberLen bounds the JSON numbers rat parses: the schema allows
// none longer, and Validate also runs on payloads that fail the schema.
const maxNumberLen = 32

// rat returns the JSON number v (json.Number, float64 or int) exactly.
func rat(v any) (*big.Rat, bool) {
	switch v := v.(type) {
	case json.Number:
		if len(v) > maxNumberLen {
			return nil, false
		}
		return new(big.Rat).SetString(string(v))
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(v) == nil {
			return nil, false
		}
		return r, true
	case int:
		return big.NewRat(int64(v), 1), true
	case int64:
		return big.NewRat(v, 1), true
	}
	return nil, false
}

// decimal writes the JSON number v as an xbauk:Dezimal.XBau: two fraction
// digits (the payload schema allows no more).
func decimal(v any) string {
	r, ok := rat(v)
	if !ok {
		return ""
	}
	return r.FloatString(2)
}
