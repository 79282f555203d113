"""Every write of the loyalty app, one module per subject: programme (settings and tiers), points,
coupons, gifts and checkout. Each public function is one business action in one transaction."""
