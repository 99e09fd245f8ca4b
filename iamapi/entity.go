package iamapi

import (
	"context"
	"encoding/xml"
	"strings"

	"github.com/postern/postern/iam"
)

// entity describes one IAM entity type (user, group, role) to the API. Its
// ops are CreateX, GetX, ListXs and DeleteX, with the parameter checks,
// authorization, pagination and result shapes written once here.
type entity[T, X any] struct {
	t      iam.EntityType
	param  string // the name parameter, "UserName"
	maxLen int
	// create checks the create action's other parameters, among them Path
	// with c.creating (which authorizes), and creates the entity.
	create func(c *call, name string) (T, error)
	get    func(st iam.Store, ctx context.Context, account, name string) (T, error)
	list   func(st iam.Store, ctx context.Context, account, pathPrefix string) ([]T, error)
	del    func(st iam.Store, ctx context.Context, account, name string) error
	name   func(T) string
	path   func(T) string
	xml    func(T) X
}

// kind is what the operations shared by every entity type (inline and
// attached policies) need to know of one.
type kind interface {
	nameParam(c *call) (string, error)
	arn(c *call, name string) string
}

func kindOf(t iam.EntityType) kind {
	switch t {
	case iam.EntityUser:
		return users
	case iam.EntityGroup:
		return groups
	}
	return roles
}

// entityParam reads and checks the name parameter of an entity of type t.
func entityParam(c *call, t iam.EntityType) (string, error) { return kindOf(t).nameParam(c) }

// entityARN returns the ARN of an existing entity (with its path) or, when it
// does not exist, the ARN it would have at path "/", so that authorization
// is decided before existence is revealed.
func (c *call) entityARN(t iam.EntityType, name string) string { return kindOf(t).arn(c, name) }

func (e entity[T, X]) nameParam(c *call) (string, error) {
	return nameParam(c, e.param, strings.ToLower(e.param[:1])+e.param[1:], e.maxLen)
}

func (e entity[T, X]) arn(c *call, name string) string {
	path := "/"
	if v, err := e.get(c.h.svc.Store(), c.r.Context(), c.account(), name); err == nil {
		path, name = e.path(v), e.name(v)
	}
	return iam.EntityARN(c.account(), string(e.t), path, name)
}

// ops returns the entity's CreateX, GetX, ListXs and DeleteX.
func (e entity[T, X]) ops() map[string]opFunc {
	x := title(e.t)
	return map[string]opFunc{"Create" + x: e.createOp, "Get" + x: e.getOp, "List" + x + "s": e.listOp, "Delete" + x: e.deleteOp}
}

func (e entity[T, X]) createOp(c *call) (any, error) {
	name, err := e.nameParam(c)
	if err != nil {
		return nil, err
	}
	v, err := e.create(c, name)
	if err != nil {
		return nil, err
	}
	return one(title(e.t), e.xml(v)), nil
}

func (e entity[T, X]) getOp(c *call) (any, error) {
	name, err := e.nameParam(c)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:Get"+title(e.t), e.arn(c, name)); err != nil {
		return nil, err
	}
	v, err := e.get(c.h.svc.Store(), c.r.Context(), c.account(), name)
	if err != nil {
		return nil, err
	}
	return one(title(e.t), e.xml(v)), nil
}

func (e entity[T, X]) listOp(c *call) (any, error) {
	if err := c.allow("iam:List"+title(e.t)+"s", iam.EntityARN(c.account(), string(e.t), "/", "*")); err != nil {
		return nil, err
	}
	all, err := e.list(c.h.svc.Store(), c.r.Context(), c.account(), c.f.get("PathPrefix"))
	if err != nil {
		return nil, err
	}
	return e.page(c, all)
}

// page returns the page of entities the request asks for (MaxItems, Marker)
// as <Xs><member>…</member></Xs> and the page markers.
func (e entity[T, X]) page(c *call, all []T) (any, error) {
	items, pg, err := paginate(c.f, all, e.name)
	if err != nil {
		return nil, err
	}
	return listOf(title(e.t)+"s", mapXML(items, e.xml), pg), nil
}

func (e entity[T, X]) deleteOp(c *call) (any, error) {
	name, err := e.nameParam(c)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:Delete"+title(e.t), e.arn(c, name)); err != nil {
		return nil, err
	}
	return nil, e.del(c.h.svc.Store(), c.r.Context(), c.account(), name)
}

// creating checks the Path parameter, then checks (the action's parameters
// that IAM reads after Path), and authorizes creating an entity of type t
// named name at that path, which it returns.
func (c *call) creating(t iam.EntityType, name string, checks ...func() error) (string, error) {
	path, err := iam.CheckPath("path", c.f.get("Path"))
	if err != nil {
		return "", err
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return "", err
		}
	}
	return path, c.allow("iam:Create"+title(t), iam.EntityARN(c.account(), string(t), path, name))
}

// --- result shapes ----------------------------------------------------------

// elem marshals v as the element name, whatever the field holding it is
// called.
type elem struct {
	name string
	v    any
}

func (x elem) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement(x.v, xml.StartElement{Name: xml.Name{Local: x.name}})
}

// one is a result holding one element: <name>v</name>.
func one(name string, v any) any {
	return struct{ E elem }{elem{name, v}}
}

type members[X any] struct {
	Member []X `xml:"member"`
}

// listOf is a list result: <name><member>…</member>…</name>, then the page
// markers (IsTruncated, Marker).
func listOf[X any](name string, items []X, pg page) any {
	return struct {
		Items elem
		page
	}{elem{name, members[X]{items}}, pg}
}

func mapXML[T, X any](items []T, f func(T) X) []X {
	out := make([]X, 0, len(items))
	for _, v := range items {
		out = append(out, f(v))
	}
	return out
}
