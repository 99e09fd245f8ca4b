package iamapi

import (
	"github.com/postern/postern/iam"
)

// Groups and their members.

var groups = entity[iam.Group, xGroup]{
	t: iam.EntityGroup, param: "GroupName", maxLen: iam.MaxGroupNameLen,
	create: func(c *call, name string) (iam.Group, error) {
		path, err := c.creating(iam.EntityGroup, name)
		if err != nil {
			return iam.Group{}, err
		}
		return c.h.svc.CreateGroup(c.r.Context(), c.account(), name, path)
	},
	get: iam.Store.GetGroup, list: iam.Store.ListGroups, del: iam.Store.DeleteGroup,
	name: func(g iam.Group) string { return g.Name }, path: func(g iam.Group) string { return g.Path }, xml: groupXML,
}

func groupXML(g iam.Group) xGroup {
	return xGroup{Path: g.Path, GroupName: g.Name, GroupID: g.ID, Arn: g.ARN(), CreateDate: isoTime(g.CreatedAt)}
}

// getGroup is GetGroup: the group and a page of its members.
func getGroup(c *call) (any, error) {
	name, err := groups.nameParam(c)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:GetGroup", groups.arn(c, name)); err != nil {
		return nil, err
	}
	g, err := c.h.svc.Store().GetGroup(c.r.Context(), c.account(), name)
	if err != nil {
		return nil, err
	}
	members, err := c.h.svc.Store().ListGroupMembers(c.r.Context(), c.account(), name)
	if err != nil {
		return nil, err
	}
	members, pg, err := paginate(c.f, members, func(u iam.User) string { return u.Name })
	if err != nil {
		return nil, err
	}
	out := struct {
		Group xGroup  `xml:"Group"`
		Users []xUser `xml:"Users>member"`
		page
	}{Group: groupXML(g), Users: []xUser{}, page: pg}
	for _, u := range members {
		out.Users = append(out.Users, userXML(u))
	}
	return out, nil
}

func membership(c *call, action string) (group, user string, err error) {
	if group, err = groups.nameParam(c); err != nil {
		return
	}
	if user, err = users.nameParam(c); err != nil {
		return
	}
	err = c.allow(action, groups.arn(c, group))
	return
}

func addUserToGroup(c *call) (any, error) {
	group, user, err := membership(c, "iam:AddUserToGroup")
	if err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().AddUserToGroup(c.r.Context(), c.account(), group, user)
}

func removeUserFromGroup(c *call) (any, error) {
	group, user, err := membership(c, "iam:RemoveUserFromGroup")
	if err != nil {
		return nil, err
	}
	return nil, c.h.svc.Store().RemoveUserFromGroup(c.r.Context(), c.account(), group, user)
}

func listGroupsForUser(c *call) (any, error) {
	user, err := users.nameParam(c)
	if err != nil {
		return nil, err
	}
	if err := c.allow("iam:ListGroupsForUser", users.arn(c, user)); err != nil {
		return nil, err
	}
	list, err := c.h.svc.Store().ListGroupsForUser(c.r.Context(), c.account(), user)
	if err != nil {
		return nil, err
	}
	return groups.page(c, list)
}
