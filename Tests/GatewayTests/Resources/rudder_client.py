"""Sends one call of each type through RudderStack's Python SDK (PyPI: rudder-sdk-python).

Usage: rudder_client.py <data plane URL> <write key>
Exits 0 when the SDK reported no error, 1 otherwise; 3 when the SDK is not installed.
"""
import sys

try:
    import rudderstack.analytics as rudder_analytics
except ImportError:
    print("rudder-sdk-python is not installed", file=sys.stderr)
    sys.exit(3)

url, write_key = sys.argv[1], sys.argv[2]
errors = []
rudder_analytics.write_key = write_key
rudder_analytics.dataPlaneUrl = url
rudder_analytics.on_error = lambda error, batch: errors.append(str(error))
rudder_analytics.max_retries = 0

rudder_analytics.identify("py-user", {"email": "ada@example.com", "plan": "pro"}, message_id="py-identify")
rudder_analytics.track("py-user", "Order Completed", {"revenue": 99.5, "currency": "EUR"}, message_id="py-track")
rudder_analytics.page("py-user", "Docs", "Install", {"path": "/docs/install"}, message_id="py-page")
rudder_analytics.screen("py-user", "Onboarding", "Welcome", {"step": 1}, message_id="py-screen")
rudder_analytics.group("py-user", "org-42", {"name": "Acme Inc"}, message_id="py-group")
rudder_analytics.alias("py-anon-previous", "py-user", message_id="py-alias")
rudder_analytics.flush()
rudder_analytics.shutdown()

if errors:
    print("SDK errors: " + "; ".join(errors), file=sys.stderr)
    sys.exit(1)
print("sent 6 calls")
