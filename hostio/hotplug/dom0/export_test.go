package dom0

// Detach is detach, for the tests of the OS side.
var Detach = detach
