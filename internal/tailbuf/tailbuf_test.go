package tailbuf_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/tailbuf"
)

func TestBuffer_KeepsTheEnd(t *testing.T) {
	b := &tailbuf.Buffer{Max: 8}
	for i := range 5 {
		_, err := fmt.Fprintf(b, "%d:", i)
		require.NoError(t, err)
	}
	require.Equal(t, "1:2:3:4:", b.String())
	_, _ = b.Write([]byte("0123456789"))
	require.Equal(t, "23456789", b.String())
}
