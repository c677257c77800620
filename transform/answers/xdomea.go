package answers

import (
	"strings"

	"github.com/google/uuid"
)

// codeErfolg is the AllgemeineRueckmeldung "Ausführung wurde erfolgreich
// beendet" (code list allgemeinerueckmeldung).
const codeErfolg = "0000000"

// answerNamespace is the namespace of the name-based message ids of xdomea
// confirmations (a version 5 UUID of the URL namespace).
var answerNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:amtsbote:answer:xdomea"))

// readXdomeaKopf reads the Kopf of an xdomea confirmation: the ProzessID
// (of the filing message it confirms: the reference), its type code and
// time. The answer's own id is derived from type and ProzessID.
func readXdomeaKopf(root *node, a *Answer, code string) error {
	kopf := root.child(nsXdomea, "Kopf")
	if kopf == nil {
		return missing(root.childPath("xdomea:Kopf"))
	}
	pid := kopf.child(nsXdomea, "ProzessID")
	if pid == nil || pid.value() == "" {
		return &Error{Path: kopf.childPath("xdomea:ProzessID"), Reason: "is required: it refers to the original message", Err: ErrNoReference}
	}
	if !isUUID(pid.value()) {
		return &Error{Path: pid.path, Reason: "is not a UUID"}
	}
	a.Reference = strings.ToLower(pid.value())
	typ := kopf.child(nsXdomea, "Nachrichtentyp").get("code").value()
	if typ == "" {
		return missing(kopf.childPath("xdomea:Nachrichtentyp", "code"))
	}
	if typ != code {
		return &Error{Path: kopf.childPath("xdomea:Nachrichtentyp", "code"), Reason: "is not " + code + ", the code of " + root.local, Err: ErrUnknownType}
	}
	ts := kopf.child(nsXdomea, "Erstellungszeitpunkt")
	if ts == nil {
		return missing(kopf.childPath("xdomea:Erstellungszeitpunkt"))
	}
	var err error
	if a.SentAt, err = dateTime(ts); err != nil {
		return err
	}
	a.MessageID = uuid.NewSHA1(answerNamespace, []byte(code+":"+a.Reference)).String()
	return nil
}

func readEmpfangBestaetigen(root *node, a *Answer) error {
	if err := readXdomeaKopf(root, a, "0629"); err != nil {
		return err
	}
	a.Kind = KindDMSReceived
	return nil
}

// readImportBestaetigen reads a 0630: a success when every Rueckmeldung is
// the AllgemeineRueckmeldung 0000000 and no Rueckgabeparameter says
// Erfolgreich false; DMSID is the IDSGO of the first successful
// Rueckgabeparameter. Otherwise a failure, each other Rueckmeldung a
// Finding.
func readImportBestaetigen(root *node, a *Answer) error {
	if err := readXdomeaKopf(root, a, "0630"); err != nil {
		return err
	}
	eom := root.child(nsXdomea, "ErfolgOderMisserfolg")
	if eom == nil {
		return missing(root.childPath("xdomea:ErfolgOderMisserfolg"))
	}
	ok := true
	rms := eom.all(nsXdomea, "Rueckmeldung")
	if len(rms) == 0 {
		return missing(eom.childPath("xdomea:Rueckmeldung"))
	}
	for _, rm := range rms {
		if len(rm.children) != 1 {
			return &Error{Path: rm.path, Reason: "must hold exactly one Rueckmeldung"}
		}
		c := rm.children[0]
		if c.space != nsXdomea {
			return &Error{Path: c.path, Reason: "is not an xdomea Rueckmeldung"}
		}
		code := c.get("code").value()
		switch {
		case c.local == "AllgemeineRueckmeldung" && code == codeErfolg:
			continue
		case c.local == "SonstigeFehlermeldung":
			a.Findings = append(a.Findings, Finding{Code: c.local, Text: c.value()})
		case code == "":
			return missing(c.childPath("code"))
		default:
			a.Findings = append(a.Findings, Finding{Code: c.local + "/" + code})
		}
		ok = false
	}
	for _, rp := range eom.all(nsXdomea, "Rueckgabeparameter") {
		e := rp.child(nsXdomea, "Erfolgreich")
		if e == nil {
			return missing(rp.childPath("xdomea:Erfolgreich"))
		}
		switch e.value() {
		case "true", "1":
			if id := rp.child(nsXdomea, "IDSGO"); id != nil && a.DMSID == "" {
				if !isUUID(id.value()) {
					return &Error{Path: id.path, Reason: "is not a UUID"}
				}
				a.DMSID = id.value()
			}
		case "false", "0":
			ok = false
		default:
			return &Error{Path: e.path, Reason: "is not a boolean"}
		}
	}
	if ok {
		a.Kind = KindFiled
	} else {
		a.Kind = KindFilingFailed
		a.DMSID = ""
	}
	return nil
}
