package intake

import "testing"

func TestCheckFileNameWindows(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"CON", "con.pdf", "Nul.tar.gz", "COM1.pdf", "lpt9", "COM²", "AUX .txt", "a<b.pdf", "a>b.pdf",
		`a"b.pdf`, "a|b.pdf", "wer?.pdf", "*.pdf", "antrag.pdf.", "antrag.pdf ", " antrag.pdf"} {
		if fe := checkFileName("/f", name); fe == nil {
			t.Errorf("checkFileName(%q) = nil, want a problem", name)
		}
	}
	for _, name := range []string{"CONTRACT.pdf", "com10.pdf", "Lpt.pdf", "console.png", "Auxiliar.pdf", "Antrag v2.pdf", "a.b.c.pdf"} {
		if fe := checkFileName("/f", name); fe != nil {
			t.Errorf("checkFileName(%q) = %+v, want nil", name, fe)
		}
	}
}
