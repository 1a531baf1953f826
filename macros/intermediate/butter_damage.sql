{#-
    Damaged rows: a staging row the warehouse cannot use as published. Such a
    row is quarantined (left out of the marts, counted in audit.load_audit and
    named with its file in audit.source_reconciliation); the rest builds. A
    folder with too large a share of damaged rows stops the build (the data
    test load_audit__quarantine_within_limit on audit.load_audit:
    macros/tests/butter_quarantine_within_limit.sql, var butter_quarantine_limit).

    A row is damaged when its key (run_id, or experiment_id) is NULL, its
    epochs is NULL or 0 (nothing trained: its empty arrays are not a result),
    or a per-epoch array is NULL, empty or not `epochs` long.
    NULL *elements* inside an array are data ("no value at this epoch", like
    NaN), never damage. Optional arrays (q1/q3, absent from the published
    spelling) are checked only where present, and so are the arrays the
    executive summary does not keep (complete_executive_summary/).
-#}


{#- The per-epoch arrays of a folder kind: (name, required) pairs. -#}
{% macro butter_epoch_arrays(kind) -%}
    {%- set arrays = [] -%}
    {%- for col in butter_columns(kind) if col.sql_type.endswith('[]') and col.name != 'widths' -%}
        {%- do arrays.append({'name': col.name, 'required': col.required, 'executive': col.executive}) -%}
    {%- endfor -%}
    {{- return(arrays) -}}
{%- endmacro %}


{#- Why a row is damaged, in a few words shared by many rows (grouped in
    audit.load_audit), or NULL for a sound row; read off its findings
    (`detail`, the column butter_row_damage_detail computed) so that the
    arrays' lengths are written once in the compiled SQL. -#}
{% macro butter_row_damage(kind, detail='damage_detail') -%}
    {%- set key = 'run_id' if kind == 'runs' else 'experiment_id' -%}
    case
        when {{ detail }} is null then null
        when {{ key }} is null then '{{ key }} is NULL'
        {%- if kind == 'runs' %}
        when experiment_id is null then 'experiment_id is NULL'
        {%- endif %}
        when epochs is null then 'epochs is NULL'
        when epochs = 0 then 'epochs is 0'
        when {{ detail }} like '% is NULL%' or {{ detail }} like '% has 0 values %'
            then 'NULL or empty per-epoch array'
        else 'per-epoch array not epochs long'
    end
{%- endmacro %}


{#- Every finding of a damaged row (column and lengths), NULL for a sound
    row: `test_loss has 9 values for 10 epochs; train_loss is NULL`.
    `folder_column`: the column naming the folder a row comes from (the
    executive summary keeps few arrays: a NULL array it does not keep is no
    finding there); none: every required array is checked. -#}
{% macro butter_row_damage_detail(kind, folder_column=none) -%}
    {%- set key = 'run_id' if kind == 'runs' else 'experiment_id' -%}
    nullif(concat_ws(
        '; ',
        case when {{ key }} is null then '{{ key }} is NULL' end,
        {%- if kind == 'runs' %}
        case when experiment_id is null then 'experiment_id is NULL' end,
        {%- endif %}
        case when epochs is null then 'epochs is NULL' end,
        case when epochs = 0 then 'epochs is 0' end,
        {%- for array in butter_epoch_arrays(kind) %}
        case
            {%- if array.required %}
            when {{ array.name }} is null
                {%- if not array.executive and folder_column is not none
                    and butter_executive_folder() in butter_folders(kind) %}
                and {{ folder_column }} != '{{ butter_executive_folder() }}'
                {%- endif %}
                then '{{ array.name }} is NULL'
            {%- endif %}
            when {{ butter_array_length(array.name) }} != epochs
                then
                    '{{ array.name }} has ' || cast({{ butter_array_length(array.name) }} as string)
                    || ' values for ' || cast(epochs as string) || ' epochs'
        end{{ ',' if not loop.last }}
        {%- endfor %}
    ), '')
{%- endmacro %}
