package dispatch

import "fmt"

// Pause stops writing to an account until Resume, as an operator's
// choice: its queue keeps every change meanwhile and drains on Resume.
func (d *Dispatcher) Pause(account string) error {
	a := d.byKey[account]
	if a == nil {
		return fmt.Errorf("%w %q", ErrUnknownAccount, account)
	}
	a.mu.Lock()
	a.paused = true
	a.mu.Unlock()
	d.log.Info("dispatch: account paused by an operator", "account", account)
	return nil
}
