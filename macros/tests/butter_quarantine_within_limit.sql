{#- Load-audit folders whose damaged rows exceed the quarantine limit (var
    butter_quarantine_limit: a share of the folder's rows), with both counts,
    the limit and the folder's quarantine reasons, so the failure report says
    which folder to look at. The limit is compared as a decimal literal of 9
    places (exact in both engines; quarantine.over_limit compares the same way),
    not a double product: 29 of 100 rows at 0.29 are within it. -#}
{% test butter_quarantine_within_limit(model, limit=none) %}

{%- set limit = var('butter_quarantine_limit') if limit is none else limit %}

with

audited as (
    select
        source_folder,
        rows_damaged,
        rows_read,
        quarantine_reasons
    from {{ model }}
),

over_limit as (
    select
        source_folder,
        rows_damaged,
        rows_read,
        cast({{ limit }} as double) as quarantine_limit,
        quarantine_reasons
    from audited
    where rows_damaged > {{ '%.9f' | format(limit | float) }} * rows_read
)

select * from over_limit

{% endtest %}
