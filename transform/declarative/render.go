package declarative

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/beevik/etree"
	"github.com/expr-lang/expr/vm"

	"github.com/amtsbote/amtsbote/transform"
	"github.com/amtsbote/amtsbote/transform/xoev"
)

// maxElements bounds the elements one message may have: a guard against a
// mapping that multiplies its input (nested each over large arrays).
const maxElements = 100_000

// renderer walks the compiled mapping for one Map call.
type renderer struct {
	file     string
	payload  map[string]any
	env      env
	vm       vm.VM
	in       *transform.Input
	elements int
}

func (r *renderer) fail(line int, ptr string, err error) error {
	return &Error{File: r.file, Line: line, Pointer: ptr, Err: err}
}

// nodes renders ns below parent with the current item.
func (r *renderer) nodes(parent *etree.Element, ns []*node, item any, itemPtr string) error {
	for _, n := range ns {
		if err := r.node(parent, n, item, itemPtr); err != nil {
			return err
		}
	}
	return nil
}

// node renders n: once, once per element of each, or not at all.
func (r *renderer) node(parent *etree.Element, n *node, item any, itemPtr string) error {
	if n.each != nil {
		v, abs, ok := n.each.resolve(r.payload, item, itemPtr)
		if !ok {
			return nil // an absent array has no elements
		}
		list, isList := v.([]any)
		if !isList {
			return r.fail(n.line, abs, errors.New("each: the value is not an array"))
		}
		saved, savedIndex := r.env.Item, r.env.Index
		defer func() { r.env.Item, r.env.Index = saved, savedIndex }()
		for i, e := range list {
			r.env.Item, r.env.Index = e, i
			if err := r.once(parent, n, e, abs+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		return nil
	}
	if n.with != nil {
		v, abs, ok := n.with.resolve(r.payload, item, itemPtr)
		if !ok {
			if n.optional {
				return nil
			}
			return r.fail(n.line, abs, errors.New("with: the value is absent (mark the node optional if it may be)"))
		}
		saved := r.env.Item
		defer func() { r.env.Item = saved }()
		r.env.Item = v
		return r.once(parent, n, v, abs)
	}
	return r.once(parent, n, item, itemPtr)
}

// once renders n for one item.
func (r *renderer) once(parent *etree.Element, n *node, item any, itemPtr string) error {
	if n.cond != nil {
		ok, err := r.bool(n.cond, n.line)
		if err != nil || !ok {
			return err
		}
	}
	switch n.kind {
	case kindGroup:
		return r.nodes(parent, n.children, item, itemPtr)
	case kindIdent:
		r.elements += 4
		xoev.IdentifikationNachricht(parent, n.identPrefix, r.env.Message.ID, n.identList, n.identCode, r.in.CreatedAt)
		return nil
	}
	if r.elements++; r.elements > maxElements {
		return r.fail(n.line, itemPtr, fmt.Errorf("the message would have more than %d elements", maxElements))
	}
	if n.src.kind != sourceNone {
		text, ptr, present, err := r.value(n.src, n.line, item, itemPtr)
		if err != nil {
			return err
		}
		if !present || (text == "" && n.optional) {
			if n.optional {
				return nil
			}
			return r.fail(n.line, ptr, errors.New("required value is absent (mark the element optional if it may be)"))
		}
		var e *etree.Element
		if n.isCode {
			var list xoev.CodeList
			if n.list != nil {
				list = n.list.list
				if n.list.codes != nil {
					code, ok := n.list.codes[text]
					if !ok {
						return r.fail(n.line, ptr, errors.New("the value is not in the codes of the code list"))
					}
					text = code
				}
			}
			e = xoev.Code(parent, n.tag, list, text)
		} else {
			e = xoev.Text(parent, n.tag, text)
		}
		return r.attrs(e, n, item, itemPtr)
	}
	e := parent.CreateElement(n.tag)
	if err := r.attrs(e, n, item, itemPtr); err != nil {
		return err
	}
	if err := r.nodes(e, n.children, item, itemPtr); err != nil {
		return err
	}
	if n.optional && len(e.Child) == 0 && len(e.Attr) == 0 {
		parent.RemoveChild(e)
	}
	return nil
}

func (r *renderer) attrs(e *etree.Element, n *node, item any, itemPtr string) error {
	for _, a := range n.attrs {
		text, ptr, present, err := r.value(a.src, a.line, item, itemPtr)
		if err != nil {
			return err
		}
		if !present || text == "" {
			if a.optional {
				continue
			}
			if !present {
				return r.fail(a.line, ptr, fmt.Errorf("attribute %s: required value is absent", a.name))
			}
		}
		e.CreateAttr(a.name, transform.NormalizeText(text))
	}
	return nil
}

// value evaluates s as text; present is false for an absent member or a nil
// result. ptr is the absolute pointer of a pointer source.
func (r *renderer) value(s source, line int, item any, itemPtr string) (text, ptr string, present bool, err error) {
	var v any
	switch s.kind {
	case sourceText:
		return s.text, "", true, nil
	case sourcePointer:
		var ok bool
		v, ptr, ok = s.ptr.resolve(r.payload, item, itemPtr)
		if !ok {
			return "", ptr, false, nil
		}
	case sourceExpr:
		v, err = s.prog.run(&r.vm, &r.env)
		if err != nil {
			return "", itemPtr, false, r.fail(line, itemPtr, fmt.Errorf("expression %q: %v", s.prog.src, firstLine(err.Error())))
		}
	}
	switch v := v.(type) {
	case nil:
		return "", ptr, false, nil
	case string:
		return v, ptr, true, nil
	case json.Number:
		return v.String(), ptr, true, nil
	case bool:
		return strconv.FormatBool(v), ptr, true, nil
	case int:
		return strconv.Itoa(v), ptr, true, nil
	case int64:
		return strconv.FormatInt(v, 10), ptr, true, nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), ptr, true, nil
	default:
		return "", ptr, false, r.fail(line, ptr, fmt.Errorf("the value is a %s, not text, a number or a boolean", kindOf(v)))
	}
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

func (r *renderer) bool(p *program, line int) (bool, error) {
	v, err := p.run(&r.vm, &r.env)
	if err != nil {
		return false, r.fail(line, "", fmt.Errorf("expression %q: %v", p.src, firstLine(err.Error())))
	}
	b, _ := v.(bool)
	return b, nil
}
