{#- Load-audit rows where a count column is not 0, with the folder and its
    note (which names the files and columns concerned), so the failure
    report shows what to fix. -#}
{% test butter_audit_is_zero(model, column_name, folder_column='source_folder', note_column='note') %}

with

nonzero as (
    select
        {{ folder_column }},
        {{ column_name }},
        {{ note_column }}
    from {{ model }}
    where {{ column_name }} != 0
)

select * from nonzero

{% endtest %}
