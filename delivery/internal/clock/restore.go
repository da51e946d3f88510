package clock

import (
	"context"
	"fmt"
	"time"
)

// Reload reads the stored offset again, after something else wrote it in the database
// (loading a saved world, which may move the clock back to the world's time). Unlike
// Advance it may go back, and it tells nobody: the caller has paused the work that
// depends on the time.
func (c *Clock) Reload(ctx context.Context) error {
	if !c.virtual {
		return nil
	}
	var ms int64
	if err := c.pool.QueryRow(ctx, `SELECT offset_ms FROM clock`).Scan(&ms); err != nil {
		return fmt.Errorf("loading clock offset: %w", err)
	}
	c.offset.Store(ms * int64(time.Millisecond))
	return nil
}
