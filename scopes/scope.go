package scopes

import "strings"

// The service-account scopes (SPEC §1), asked for in the authorize parameter scope and held by a
// grant. Use them with Set.Has rather than spelling the strings again.
const (
	// AccountsManage allows minting delegated tokens for the domain's accounts (SPEC §4).
	AccountsManage = "service_account/accounts/manage"
	// AccountsUnrestrictedAccess allows elevating accounts' calendars to unrestricted without
	// asking each user (SPEC §7).
	AccountsUnrestrictedAccess = "service_account/accounts/unrestricted_access"
	// ResourcesManage allows listing resources and minting delegated tokens for them (SPEC §4).
	ResourcesManage = "service_account/resources/manage"
	// ResourcesUnrestrictedAccess allows elevating resources' calendars without asking (SPEC §7).
	ResourcesUnrestrictedAccess = "service_account/resources/unrestricted_access"
)

// The index of each granular or service-account scope in a Set's bitset. The order is the byte
// order of the names, so walking a bitset from bit 0 upwards yields the sorted form (SPEC §1:
// stored and reported sorted) without sorting; TestNames_SortedByIndex keeps the two in step.
const (
	changeParticipationStatus = iota
	createCalendar
	createEvent
	deleteEvent
	listCalendars
	readAccount
	readContacts
	readDirectory
	readEvents
	readFreeBusy
	accountsManage
	accountsUnrestrictedAccess
	resourcesManage
	resourcesUnrestrictedAccess

	scopeCount = iota
)

// Masks of the two kinds of scope, so a parser accepts only its own kind.
const (
	delegatedMask      uint32 = 1<<accountsManage - 1 // every granular scope
	serviceAccountMask uint32 = 1<<accountsManage | 1<<accountsUnrestrictedAccess |
		1<<resourcesManage | 1<<resourcesUnrestrictedAccess
)

// names[i] is the scope whose index is i.
var names = [scopeCount]string{
	changeParticipationStatus:   "change_participation_status",
	createCalendar:              "create_calendar",
	createEvent:                 "create_event",
	deleteEvent:                 "delete_event",
	listCalendars:               "list_calendars",
	readAccount:                 "read_account",
	readContacts:                "read_contacts",
	readDirectory:               "read_directory",
	readEvents:                  "read_events",
	readFreeBusy:                "read_free_busy",
	accountsManage:              AccountsManage,
	accountsUnrestrictedAccess:  AccountsUnrestrictedAccess,
	resourcesManage:             ResourcesManage,
	resourcesUnrestrictedAccess: ResourcesUnrestrictedAccess,
}

// Expanded bitsets of the names a caller may write (SPEC §1 tables), closed under "read_events
// implies read_free_busy".
const (
	readEventsBits = 1<<readEvents | 1<<readFreeBusy

	readOnly      uint32 = 1<<readAccount | 1<<listCalendars | readEventsBits
	readWrite            = readOnly | 1<<createEvent | 1<<deleteEvent | 1<<createCalendar | 1<<changeParticipationStatus
	freeBusy      uint32 = 1<<readAccount | 1<<listCalendars | 1<<readFreeBusy
	freeBusyWrite        = freeBusy | 1<<createEvent | 1<<deleteEvent
	writeOnly     uint32 = 1<<readAccount | 1<<createEvent | 1<<deleteEvent
)

// entry is one name a caller may write: a granular scope, a shorthand or a service-account
// scope, with the expanded bits it stands for and its description.
type entry struct {
	name        string
	bits        uint32
	shorthand   bool
	description string
}

// entries holds every known scope name, sorted by name for lookup's binary search
// (TestEntries_Sorted). Descriptions are one plain-language sentence an administrator can
// read on the consent page; they avoid quotes and apostrophes so they read the same escaped.
var entries = [...]entry{
	{"change_participation_status", 1 << changeParticipationStatus, false,
		"Accept, decline or tentatively accept event invitations on behalf of each user or room."},
	{"create_calendar", 1 << createCalendar, false,
		"Create new calendars for each user or room and manage the events in them."},
	{"create_event", 1 << createEvent, false,
		"Create and update events in the calendars of each user or room."},
	{"delete_event", 1 << deleteEvent, false,
		"Delete events from the calendars of each user or room."},
	{"free_busy", freeBusy, true,
		"See the email address, the list of calendars and the free or busy times of each user or room, without any event details."},
	{"free_busy_write", freeBusyWrite, true,
		"See the free or busy times of each user or room and create, update or delete events in their calendars, without reading event details."},
	{"list_calendars", 1 << listCalendars, false,
		"See the list of calendars of each user or room."},
	{"read_account", 1 << readAccount, false,
		"See the email address of each user or room."},
	{"read_contacts", 1 << readContacts, false,
		"Read the contacts of each user."},
	{"read_directory", 1 << readDirectory, false,
		"Read the directory of people in your organisation."},
	{"read_events", readEventsBits, false,
		"Read the events in the calendars of each user or room, including their details and free or busy times."},
	{"read_free_busy", 1 << readFreeBusy, false,
		"See when each user or room is free or busy, without any event details."},
	{"read_only", readOnly, true,
		"See the email address, the list of calendars and all events of each user or room, without changing anything."},
	{"read_write", readWrite, true,
		"Read and change the calendars of each user or room: see all events, create, update and delete events, create calendars and answer invitations."},
	{AccountsManage, 1 << accountsManage, false,
		"Get short-lived access on behalf of any user in your organisation, limited to the delegated permissions you approve."},
	{AccountsUnrestrictedAccess, 1 << accountsUnrestrictedAccess, false,
		"Give the application unrestricted access to the calendars of any user in your organisation without asking each user first."},
	{ResourcesManage, 1 << resourcesManage, false,
		"List the bookable resources of your organisation, such as meeting rooms, and get short-lived access on their behalf."},
	{ResourcesUnrestrictedAccess, 1 << resourcesUnrestrictedAccess, false,
		"Give the application unrestricted access to the calendars of any bookable resource in your organisation without further approval."},
	{"write_only", writeOnly, true,
		"See the email address of each user or room and create, update or delete events in their calendars, without reading existing events."},
}

// lookup finds the entry for name by binary search over entries; it allocates nothing. Scope
// names are case-sensitive (RFC 6749 §3.3).
func lookup(name string) (*entry, bool) {
	lo, hi := 0, len(entries)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch c := strings.Compare(entries[mid].name, name); {
		case c == 0:
			return &entries[mid], true
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return nil, false
}

// Describe returns the one-sentence plain-language description of scope, a service-account,
// granular or shorthand scope name, as the consent page (SPEC §2) and `broker scopes explain`
// (SPEC §10) show it. ok is false for an unknown name.
func Describe(scope string) (description string, ok bool) {
	e, ok := lookup(scope)
	if !ok {
		return "", false
	}
	return e.description, true
}

// ExpandsTo returns the sorted granular scopes that scope stands for (SPEC §1): a shorthand its
// expansion, a granular scope itself plus what it implies (read_events also gives
// read_free_busy), a service-account scope itself. It returns nil for an unknown name. The
// slice is the caller's to keep.
func ExpandsTo(scope string) []string {
	e, ok := lookup(scope)
	if !ok {
		return nil
	}
	return Set{bits: e.bits}.Scopes()
}

// IsServiceAccount reports whether scope is one of the four service-account scopes (SPEC §1).
func IsServiceAccount(scope string) bool {
	e, ok := lookup(scope)
	return ok && e.bits&serviceAccountMask != 0
}

// IsDelegated reports whether scope is a delegated scope name, granular or shorthand (SPEC §1).
func IsDelegated(scope string) bool {
	e, ok := lookup(scope)
	return ok && e.bits&serviceAccountMask == 0
}

// ServiceAccountScopes returns the four service-account scopes, sorted: the RFC 8414
// scopes_supported list (SPEC §8). The slice is the caller's to keep.
func ServiceAccountScopes() []string {
	return Set{bits: serviceAccountMask}.Scopes()
}

// DelegatedScopes returns every delegated scope name a client may write, the granular ones
// sorted and then the shorthands sorted: the RFC 8414 delegated_scopes_supported list (SPEC §8).
// The slice is the caller's to keep.
func DelegatedScopes() []string {
	out := Set{bits: delegatedMask}.Scopes()
	for _, e := range entries {
		if e.shorthand {
			out = append(out, e.name)
		}
	}
	return out
}
