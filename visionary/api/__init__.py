"""What every /api/v1/ endpoint shares: the error body (errors), pagination and throttles.

Nothing is imported here: DRF imports the pagination and throttle classes named in its settings
while rest_framework.views itself is loading, so those modules must not import it back."""
