package config

import "path/filepath"

// ResolveProcedurePaths makes the relative procedures[].dir and
// procedures[].xsd_path absolute against base, the directory of the
// configuration file that names them. Load calls it.
func (c *Config) ResolveProcedurePaths(base string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	for i := range c.Procedures {
		p := &c.Procedures[i]
		p.Dir = abs(p.Dir)
		for j := range p.XSDPath {
			p.XSDPath[j] = abs(p.XSDPath[j])
		}
	}
}
