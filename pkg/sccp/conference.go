package sccp

import "github.com/cmed-project/cmed/pkg/dn"

// Conferencer is implemented by a Switch with ad hoc conferences: the
// Confrn softkey on a call (docs/cme-behaviour.md §Conference).
type Conferencer interface {
	Conference(id dn.DeviceID, line int, call dn.CallID) (dn.CallRef, error)
}
