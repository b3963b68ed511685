"""The simulator's business processes, as scenario functions by business area.

``outbound`` (order to purge), ``inbound`` (PO to receipt), ``inventory`` (counts, item edits,
housekeeping), ``sensors`` (cold-room readings); ``context`` holds what they share and
``planner`` draws one by weight per business transaction.
"""
