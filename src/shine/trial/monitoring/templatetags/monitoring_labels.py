"""Filters of the monitoring pages: codes and stored names in the reader's language (see ..labels)."""

from django import template

from .. import labels

register = template.Library()

register.filter("form_label", labels.form_label)
register.filter("sdv_status", labels.sdv_status)
register.filter("thread_action", labels.thread_action)
register.filter("field_label", labels.field_label)
register.filter("field_value", labels.field_value)
register.filter("thread_text", labels.thread_text)
register.filter("record_label", labels.record_label)
register.filter("entry_label", labels.entry_label)
register.filter("query_target", labels.query_target)
register.filter("variable_label", labels.variable_label)
register.filter("deviation_category", labels.deviation_category)
