{#- Fails when the rows the load audit counts as published from the folders of
    one kind are not exactly the rows of that kind's mart (each mart row is
    published from exactly one folder). Returns one row with both counts. -#}
{% test butter_audit_covers_mart(model, folder_kind, mart, mart_filter='true') %}

with

published as (
    select coalesce(sum(rows_published), 0) as rows_published
    from {{ model }}
    where folder_kind = '{{ folder_kind }}'
),

mart_rows as (
    select count(*) as mart_rows
    from {{ mart }}
    where {{ mart_filter }}
),

mismatched as (
    select
        published.rows_published,
        mart_rows.mart_rows
    from published
    cross join mart_rows
    where published.rows_published != mart_rows.mart_rows
)

select * from mismatched

{% endtest %}
