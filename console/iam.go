package console

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/postern/postern/proto/s3err"
)

// iamActions are the IAM query API actions the identity pages may call.
// Authorization is IAM's own: the console only forwards, signed as the user.
var iamActions = map[string]bool{
	"ListUsers": true, "CreateUser": true, "DeleteUser": true, "GetUser": true,
	"ListAccessKeys": true, "CreateAccessKey": true, "DeleteAccessKey": true, "UpdateAccessKey": true,
	"ListGroups": true, "CreateGroup": true, "DeleteGroup": true, "GetGroup": true,
	"AddUserToGroup": true, "RemoveUserFromGroup": true, "ListGroupsForUser": true,
	"ListRoles": true, "CreateRole": true, "DeleteRole": true, "GetRole": true,
	"ListPolicies": true, "CreatePolicy": true, "DeletePolicy": true, "GetPolicy": true, "GetPolicyVersion": true,
	"AttachUserPolicy": true, "DetachUserPolicy": true, "ListAttachedUserPolicies": true,
	"AttachGroupPolicy": true, "DetachGroupPolicy": true, "ListAttachedGroupPolicies": true,
	"AttachRolePolicy": true, "DetachRolePolicy": true, "ListAttachedRolePolicies": true,
	"ListUserPolicies": true, "GetUserPolicy": true, "PutUserPolicy": true, "DeleteUserPolicy": true,
}

func opIAM(c *call) (any, error) {
	var in struct {
		Action string            `json:"action"`
		Params map[string]string `json:"params"`
	}
	if err := c.bind(&in); err != nil {
		return nil, err
	}
	if !iamActions[in.Action] {
		return nil, badRequest("The console does not offer the IAM action " + in.Action + ".")
	}
	form := url.Values{"Action": {in.Action}, "Version": {"2010-05-08"}}
	for k, v := range in.Params {
		if k == "Action" || k == "Version" {
			continue
		}
		form.Set(k, v)
	}
	resp, err := c.do(upstream{service: "iam", op: in.Action, method: http.MethodPost, header: formHeader(), body: []byte(encodeQuery(form))})
	if err != nil {
		return nil, err
	}
	tree, err := xmlTree(resp.body.Bytes())
	if err != nil {
		return nil, s3err.New(http.StatusBadGateway, "BadResponse", "Could not read IAM's answer.")
	}
	result, _ := tree.(map[string]any)
	return map[string]any{"result": result[in.Action+"Result"]}, nil
}

// xmlTree turns an AWS query-API response into JSON-able values: an element
// with children becomes an object (a list of <member> elements an array),
// a leaf its text. The root element is dropped.
func xmlTree(data []byte) (any, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	type node struct {
		name     string
		children []*node
		text     strings.Builder
	}
	root := &node{}
	stack := []*node{root}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local}
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.text.Write(t)
		}
	}
	var conv func(n *node) any
	conv = func(n *node) any {
		if len(n.children) == 0 {
			return n.text.String()
		}
		if n.children[0].name == "member" {
			list := make([]any, 0, len(n.children))
			for _, ch := range n.children {
				list = append(list, conv(ch))
			}
			return list
		}
		m := map[string]any{}
		for _, ch := range n.children {
			m[ch.name] = conv(ch)
		}
		return m
	}
	if len(root.children) != 1 {
		return nil, io.ErrUnexpectedEOF
	}
	return conv(root.children[0]), nil
}
