package watches

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClassify(t *testing.T) {
	home := "/local/domain/7"
	for _, tc := range []struct {
		path string
		want string
	}{
		{home, WhyHome},
		{home + "/data/x", WhyData},
		{home + "/memory/target", WhyMemory},
		{home + "/console/port", WhyConsole},
		{home + "/feature/hotplug", WhyFeature},
		{home + "/junk/x", ""},
		{home + "7/data", WhyHome}, // another domain's: spurious, re-check
	} {
		assert.Equal(t, tc.want, classifyHome(home, tc.path).String(), tc.path)
	}
	for _, tc := range []struct {
		path  string
		domid uint32
		want  string
	}{
		{"@releaseDomain/12", 12, WhyRelease},
		{"@introduceDomain/3", 3, WhyIntroduce},
		{"@releaseDomain", 0, WhyRescan},
		{"@releaseDomain/junk", 0, WhyRescan},
		{"@other", 0, WhyRescan},
	} {
		d, r := classifyGlobal(tc.path)
		assert.Equal(t, tc.domid, d, tc.path)
		assert.Equal(t, tc.want, r.String(), tc.path)
	}
}

func TestNeedsAttention_Has(t *testing.T) {
	r := reasonOf(WhyData) | reasonOf(WhyReconnected)
	n := NeedsAttention{DomID: 1, Why: r.String()}
	assert.Equal(t, "reconnected,data", n.Why)
	assert.True(t, n.Has(WhyData))
	assert.False(t, n.Has(WhyControl))
}
