package scopes

import "math/bits"

// GooglePrefix starts every Google OAuth scope URL (SPEC §1); a page may show the part after it.
const GooglePrefix = "https://www.googleapis.com/auth/"

// The index of each Google scope the mapping uses, in the byte order of the full URLs, so
// walking a Google bitset upwards gives sorted output (TestGoogleNames_SortedByIndex).
const (
	gCalendarAppCreated = iota
	gCalendarListReadonly
	gCalendarEvents
	gCalendarEventsFreeBusy
	gCalendarEventsReadonly
	gContactsReadonly
	gDirectoryReadonly
	gUserinfoEmail

	googleCount = iota
)

// googleNames[i] is the URL of the Google scope whose index is i.
var googleNames = [googleCount]string{
	gCalendarAppCreated:     GooglePrefix + "calendar.app.created",
	gCalendarListReadonly:   GooglePrefix + "calendar.calendarlist.readonly",
	gCalendarEvents:         GooglePrefix + "calendar.events",
	gCalendarEventsFreeBusy: GooglePrefix + "calendar.events.freebusy",
	gCalendarEventsReadonly: GooglePrefix + "calendar.events.readonly",
	gContactsReadonly:       GooglePrefix + "contacts.readonly",
	gDirectoryReadonly:      GooglePrefix + "directory.readonly",
	gUserinfoEmail:          GooglePrefix + "userinfo.email",
}

// googleOf[i] is the Google bitset that granular scope i maps to (SPEC §1 table).
// Service-account scopes map to nothing: they are the broker's own permissions.
var googleOf = [scopeCount]uint16{
	readAccount:               1 << gUserinfoEmail,
	listCalendars:             1 << gCalendarListReadonly,
	readEvents:                1 << gCalendarEventsReadonly,
	readFreeBusy:              1 << gCalendarEventsFreeBusy,
	createEvent:               1 << gCalendarEvents,
	deleteEvent:               1 << gCalendarEvents,
	changeParticipationStatus: 1 << gCalendarEvents,
	createCalendar:            1 << gCalendarAppCreated,
	readContacts:              1 << gContactsReadonly,
	readDirectory:             1 << gDirectoryReadonly,
}

// googleCovers[i] is every other Google scope that Google scope i already grants (SPEC §1):
// calendar.events covers events.readonly and events.freebusy. events.readonly does not cover
// events.freebusy, and calendar.app.created reaches only the calendars the app made, so neither
// covers anything. The relation is transitive and acyclic, so one pass that drops every covered
// scope leaves the fewest.
var googleCovers = [googleCount]uint16{
	gCalendarEvents: 1<<gCalendarEventsReadonly | 1<<gCalendarEventsFreeBusy,
}

// Google returns the fewest Google OAuth scope URLs that together cover the delegated scopes of
// set (SPEC §1): each granular scope's mapping, minus any scope another chosen one covers, so
// read_write gives calendar.events rather than it plus events.readonly and events.freebusy.
// The URLs are sorted; service-account scopes contribute none; the empty Set gives an empty,
// non-nil slice. The slice is the caller's to keep; the upstream token cache (SPEC §4) may key
// on its joined form, which is the same for equal Sets.
func Google(set Set) []string {
	g := googleSet(set)
	out := make([]string, 0, bits.OnesCount16(g))
	for ; g != 0; g &= g - 1 {
		out = append(out, googleNames[bits.TrailingZeros16(g)])
	}
	return out
}

// googleSet maps set to Google bits and drops the covered ones.
func googleSet(set Set) uint16 {
	var chosen uint16
	for b := set.bits & delegatedMask; b != 0; b &= b - 1 {
		chosen |= googleOf[bits.TrailingZeros32(b)]
	}
	var covered uint16
	for g := chosen; g != 0; g &= g - 1 {
		covered |= googleCovers[bits.TrailingZeros16(g)]
	}
	return chosen &^ covered
}
