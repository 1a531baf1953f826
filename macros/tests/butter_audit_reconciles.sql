{#- Load-audit rows (one per source folder) whose counts do not reconcile:
    every row the footers say was read must be in staging, and every staging
    row must be published from its folder, be a duplicate of a copy published
    from another folder, or be quarantined with a reason. A failing row names
    the folder; its `note` says what was lost. -#}
{% test butter_audit_reconciles(model, rows_read='rows_read', rows_in_staging='rows_in_staging',
    outcomes=['rows_published', 'rows_duplicate_of_other_folder', 'rows_quarantined']) %}

with

unreconciled as (
    select *
    from {{ model }}
    where
        not (
            {{ rows_read }} = {{ rows_in_staging }}
            and {{ rows_in_staging }} = {{ outcomes | join(' + ') }}
        )
)

select * from unreconciled

{% endtest %}
