"""What the tests share: service and app factories, wait helpers, small hostile servers."""
